"""Claim verdicts: each claim in reports/published/revisiting.yaml names a check; the check computes a one-sided
p-value per task (analysis.claims) and Fisher's method combines them. Verdicts: reproduced, not reproduced, or
not run (no task had the data)."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from reports.build import ReportContext
from reports.render import markdown_table
from reports.revisiting.bias import flat_tasks
from reports.revisiting.common import SEED, SMALL_TASKS, chosen, degenerate_threshold, pct
from reports.revisiting.tables import table1_groups, table2_values


def _bias_arms(ctx, task, check):
    return [pct(chosen(ctx, check["experiment"], task, arm)[0]["test_at_best_val"])
            for arm in (check["better"], check["worse"])]


def _table1_pair(ctx, task, check):
    groups = table1_groups(ctx, task)
    if check["table1"] in ("3ep", "longer"):
        return [groups[(m, check["table1"])][0] for m in (check["better"], check["worse"])]
    return [groups[(check["table1"], column)][0] for column in (check["better"], check["worse"])]


def per_task_p(ctx: ReportContext, check: dict, task: str) -> float:
    kind = check["kind"]
    if kind == "variance_lower":
        return tests.variance_lower(*_bias_arms(ctx, task, check))
    if kind == "fewer_degenerate":
        better, worse = _bias_arms(ctx, task, check)
        if not len(better) or not len(worse):
            return float("nan")
        cut = degenerate_threshold(ctx, task) + 1e-9
        return tests.fewer_events(int(np.sum(better <= cut)), len(better), int(np.sum(worse <= cut)), len(worse))
    if kind == "mean_higher":
        return tests.mean_higher(*_table1_pair(ctx, task, check))
    if kind == "min_higher":
        return tests.min_higher(*_table1_pair(ctx, task, check), seed=SEED)
    if kind == "gap_narrows":
        g = table1_groups(ctx, task)
        return tests.gap_narrows(g[("reinit", "3ep")][0], g[("standard", "3ep")][0], g[("reinit", "longer")][0],
                                 g[("standard", "longer")][0], seed=SEED)
    if kind == "no_gain":
        values = table2_values(ctx, task)
        ps = [tests.mean_higher(values[arm][0], values["standard"][0]) for arm in check["arms"]]
        return tests.combine(ps)
    raise ValueError(f"unknown claim check {kind!r}")


def section_claims(ctx: ReportContext) -> str:
    rows = []
    flat = flat_tasks(ctx)
    for claim in ctx.published["claims"]:
        check = claim["check"]
        ps = {task: per_task_p(ctx, check, task) for task in SMALL_TASKS if task not in flat}
        combined = tests.combine(ps.values())
        if np.isnan(combined):
            verdict = "not run"
        else:
            effect = combined < tests.ALPHA
            expect_effect = check["kind"] != "no_gain"
            verdict = "reproduced" if effect == expect_effect else "not reproduced"
        per_task = ", ".join(f"{t} {p:.3f}" for t, p in ps.items() if np.isfinite(p)) or "—"
        rows.append([claim["section"], claim["statement"], f"**{verdict}**", check["kind"],
                     "—" if np.isnan(combined) else f"{combined:.3g}", per_task])
    header = ["Section", "Claim", "Verdict", "Test", "Combined p", "Per-task one-sided p"]
    return "\n\n".join([
        f"## Claim verdicts at profile {ctx.plan.profile}",
        markdown_table(header, rows),
        "Per task, a one-sided test in the claimed direction: variance_lower = Brown-Forsythe (Levene, median) "
        "test, p halved toward the claimed side; fewer_degenerate = Fisher's exact test on runs at or below the "
        "majority baseline; mean_higher = one-tailed Student's t-test; min_higher = permutation test of the "
        f"difference of minima (9,999 resamples, seed {SEED}); gap_narrows = bootstrap of the Re-init gap after "
        "training longer vs after 3 epochs (10,000 resamples); no_gain = one-tailed t-tests of each method vs "
        "Standard. The per-task p-values are combined with Fisher's method; a claim of an effect is reproduced "
        "when the combined p < 0.05, a claim of no gain when it is not (absence of evidence at this number of "
        "seeds, not proof of absence). Verdicts hold at this profile's scale only."
        + (f" Left out: {', '.join(flat)}, where no run beats the majority baseline (no signal at this scale)."
           if flat else "")])
