"""Claim verdicts: each claim in reports/published/revisiting.yaml names a check. Per small task the check's arms
pass a signal check (analysis.claims.signal) and, when they carry a signal, give a one-sided p-value; Fisher's
method combines the tasks with signal and analysis.claims.verdict says what the data can tell: reproduced, not
reproduced, could not tell (no signal, too few seeds, a failed positive control) or not run, with its reason."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from reports.build import ReportContext
from reports.kit import SEED, chosen, claims_table, degenerate_threshold, pct
from reports.revisiting.common import SMALL_TASKS
from reports.revisiting.tables import table1_groups, table2_values

MIN_RESAMPLES = 9999  # min_higher's permutations
GAP_REPS = 10000  # gap_narrows' bootstrap resamples
EXPECTS_NO_EFFECT = {"no_gain"}


def _bias_arms(ctx, task, check):
    return [pct(chosen(ctx, check["experiment"], task, arm)[0]["test_at_best_val"])
            for arm in (check["better"], check["worse"])]


def _table1_pair(ctx, task, check):
    groups = table1_groups(ctx, task)
    if check["table1"] in ("3ep", "longer"):
        return [groups[(m, check["table1"])][0] for m in (check["better"], check["worse"])]
    return [groups[(check["table1"], column)][0] for column in (check["better"], check["worse"])]


def _baseline(ctx, task, arms):
    """The majority baseline of our test split (x100), looked up only when every arm has runs."""
    return degenerate_threshold(ctx, task) if all(len(a) for a in arms) else None


def comparison(ctx: ReportContext, check: dict, task: str) -> tuple[float, str | None, float, int]:
    """One check on one task: (one-sided p in the claimed direction, why the task carries no signal or None,
    smallest p the test can reach at these runs, fewest runs a side). p is NaN when the task has no signal."""
    kind = check["kind"]
    if kind == "no_gain":
        return _no_gain(ctx, check, task)
    if kind in ("variance_lower", "fewer_degenerate"):
        arms = _bias_arms(ctx, task, check)
    elif kind in ("mean_higher", "min_higher"):
        arms = _table1_pair(ctx, task, check)
    elif kind == "gap_narrows":
        g = table1_groups(ctx, task)
        arms = [g[("reinit", "3ep")][0], g[("standard", "3ep")][0], g[("reinit", "longer")][0],
                g[("standard", "longer")][0]]
    else:
        raise ValueError(f"unknown claim check {kind!r}")
    base, runs, floor = _baseline(ctx, task, arms), min(len(a) for a in arms), 0.0
    if kind == "variance_lower":
        reason = tests.signal(arms, base, min_runs=3)  # Brown-Forsythe needs 3 runs a side
    elif kind == "fewer_degenerate":
        reason = tests.signal(arms, base, spread=False, events=True)
        floor = tests.exact_floor(len(arms[0]), len(arms[1]))
    else:
        reason = tests.signal(arms, base)
        if kind == "min_higher":
            floor = tests.exact_floor(len(arms[0]), len(arms[1]), MIN_RESAMPLES)
        elif kind == "gap_narrows":
            floor = 1.0 / (GAP_REPS + 1)
    if reason is not None:
        return float("nan"), reason, floor, runs
    if kind == "variance_lower":
        p = tests.variance_lower(*arms)
    elif kind == "fewer_degenerate":
        cut = base + tests.BASELINE_TOL
        better, worse = arms
        p = tests.fewer_events(int(np.sum(better <= cut)), len(better), int(np.sum(worse <= cut)), len(worse))
    elif kind == "mean_higher":
        p = tests.mean_higher(*arms)
    elif kind == "min_higher":
        p = tests.min_higher(*arms, seed=SEED, resamples=MIN_RESAMPLES)
    else:
        p = tests.gap_narrows(*arms, seed=SEED, reps=GAP_REPS)
    return p, None, floor, runs


def _no_gain(ctx, check, task):
    """One-tailed t-tests of each arm's gain over Standard (Table 2), combined over the arms with signal."""
    values = table2_values(ctx, task)
    ps, runs, reasons = [], [], {}
    for arm in check["arms"]:
        pair = [values[arm][0], values["standard"][0]]
        reason = tests.signal(pair, _baseline(ctx, task, pair))
        if reason is None:
            ps.append(tests.mean_higher(*pair))
            runs.append(min(len(a) for a in pair))
        else:
            reasons[arm] = reason
    if ps:
        return tests.combine(ps), None, 0.0, min(runs)
    distinct = set(reasons.values())
    why = distinct.pop() if len(distinct) == 1 else "; ".join(f"{arm} {r}" for arm, r in reasons.items())
    return float("nan"), why, 0.0, 0


def _claim_verdict(ctx, check, control=None, control_name="the positive control") -> tests.Verdict:
    ps, reasons, floors, runs = {}, {}, {}, []
    for task in SMALL_TASKS:
        ps[task], reasons[task], floors[task], n = comparison(ctx, check, task)
        if reasons[task] is None:
            runs.append(n)
    return tests.verdict(ps, reasons, check["kind"] not in EXPECTS_NO_EFFECT, control, floors=floors,
                         seeds=min(runs) if runs else None, control_name=control_name)


def _control(claim: dict, by_id: dict) -> tuple[dict, str]:
    """A claim's positive control as (check, name): another claim by id, or a check of its own."""
    control = claim["control"]
    if "claim" in control:
        other = by_id[control["claim"]]
        return other["check"], control.get("name") or f"{other['section']}: {other['statement']}"
    return control["check"], control["name"]


def verdicts(ctx: ReportContext) -> list[dict]:
    """One dict per claim of the published yaml, in its order: section, statement, verdict (one of
    analysis.claims.VERDICTS), reason, combined_p (NaN when no task was tested), and id, test (the check's
    kind), per_task ({task: p, or why it stayed out}), control (the positive control's name or None),
    control_p. Computed once per report context; later calls return copies of the cached result."""
    cached = ctx.__dict__.get("_claim_verdicts")
    if cached is None:
        claims = ctx.published["claims"]
        by_id = {c["id"]: c for c in claims}
        results: dict[str, tests.Verdict] = {}
        for claim in sorted(claims, key=lambda c: "control" in c):  # controls are claims without one
            control, name = None, None
            if "control" in claim:
                check, name = _control(claim, by_id)
                ref = claim["control"].get("claim")
                control = results[ref] if ref in results else _claim_verdict(ctx, check)
            results[claim["id"]] = _claim_verdict(ctx, claim["check"], control, name or "the positive control")
        cached = []
        for claim in claims:
            v = results[claim["id"]]
            cached.append({"id": claim["id"], "section": claim["section"], "statement": claim["statement"],
                           "verdict": v.verdict, "reason": v.reason, "combined_p": v.combined_p,
                           "test": claim["check"]["kind"], "per_task": {**v.per_task, **v.left_out},
                           "control": _control(claim, by_id)[1] if "control" in claim else None,
                           "control_p": v.control_p})
        ctx._claim_verdicts = cached
    return [dict(v, per_task=dict(v["per_task"])) for v in cached]


def _per_task_cell(per_task: dict) -> str:
    cells = [f"{task} {value:.3f}" if isinstance(value, float) else f"{task}: {value}"
             for task, value in sorted(per_task.items(), key=lambda kv: SMALL_TASKS.index(kv[0]))]
    return "; ".join(cells) or "—"


def section_claims(ctx: ReportContext) -> str:
    rows = [[v["section"], v["statement"], f"**{v['verdict']}**", v["reason"], v["test"],
             "—" if np.isnan(v["combined_p"]) else f"{v['combined_p']:.3g}", _per_task_cell(v["per_task"])]
            for v in verdicts(ctx)]
    controls = [f"{v['section']} ({v['test']}): {v['control']}" for v in verdicts(ctx) if v["control"]]
    header = ["Section", "Claim", "Verdict", "Why", "Test", "Combined p", "Per task: one-sided p, or why left out"]
    return claims_table(ctx, header, rows, (
        "Per task, a one-sided test in the claimed direction: variance_lower = Brown-Forsythe (Levene, median) "
        "test, p halved toward the claimed side; fewer_degenerate = Fisher's exact test on runs at or below the "
        "majority baseline; mean_higher = one-tailed Student's t-test; min_higher = permutation test of the "
        f"difference of minima ({MIN_RESAMPLES:,} resamples, seed {SEED}); gap_narrows = bootstrap of the Re-init "
        f"gap after training longer vs after 3 epochs ({GAP_REPS:,} resamples); no_gain = one-tailed t-tests of "
        "each method's gain over Standard. A task enters a claim's test only when its comparison carries a "
        "signal: every arm has runs, at least 2 a side (3 for Brown-Forsythe), not every run sits at or below the "
        "majority-class baseline of our test split, and some arm has spread (for fewer_degenerate: some run is "
        "degenerate). The tasks with signal are combined with Fisher's method. Verdicts: **reproduced** when a "
        "claimed effect has combined p < 0.05; **not reproduced** when it has not; **could not tell** when no "
        "task carries a signal, or when there are too few seeds: an exact test (Fisher's, the permutation of "
        "minima) with n and m runs cannot give p below 1/C(n+m, n), and if Fisher's combination of those floors "
        "is not below 0.05 no outcome could be significant; **not run** when no task has finished runs. A claim "
        "of no gain needs a positive control, a comparison the paper claims an effect for, computed from the "
        "same report on the tasks the no-gain test used"
        + (f" (here: {'; '.join(controls)})" if controls else "")
        + ": only when the control is significant does a non-significant gain count as reproduced (absence of "
        "evidence from a test shown able to detect an effect, not proof of absence) and a significant gain as "
        "not reproduced; otherwise the verdict is could not tell. Verdicts hold at this profile's scale only."))
