"""Claim verdicts for Xu et al. 2020, as reports/published/selfdistill.yaml lists them. Every comparison is paired
(by seed; by BASE group for VOTE and AVG; by data order for Figure 4) and tested per task with a one-sided paired
t-test on test accuracy (the exact Wilcoxon signed-rank test is reported beside it as a check); Fisher's method
combines the tasks that carry a signal (analysis.claims.verdict). The paper's claims rest on single runs."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from reports.build import ReportContext
from reports.kit import SEED, claims_section, degenerate_threshold
from reports.selfdistill import ensembles
from reports.selfdistill.common import ARM_NAMES, METRIC, NLI, arm_scores, column_label, our_task, planned_columns


def _accuracy(ctx, experiment, column, arm, metric=METRIC, **kept) -> dict[int, float]:
    """{data seed: test accuracy x100} at the arm's chosen grid point (accuracy for every task: higher is better)."""
    values, _ = arm_scores(ctx, experiment, column, arm, metric, **kept)
    return {seed: (v if column in NLI else 100.0 - v) for seed, v in values.items()}


def _pairs(better: dict, worse: dict) -> tuple[np.ndarray, np.ndarray]:
    shared = sorted(set(better) & set(worse))
    return np.array([better[s] for s in shared]), np.array([worse[s] for s in shared])


PAPER_ROWS = {"sda": "sda", "sdv": "sdv", "se": "se", "vote": "vote_k4", "avg": "avg_k4", "member_mean": "base",
              "base": "base"}


def paper_gain(ctx, column: str, better: str, worse: str, base_accuracy: float) -> float | None:
    """The paper's gain of ``better`` over ``worse`` (Table 3 rows) in our accuracy points: its relative error
    reduction difference times our BASE error on the column (None where the paper has no number)."""
    table = ctx.published["table3"]
    index = table["columns"].index("MNLI_m" if column == "MNLI" else column)
    cells = [table["cells"][PAPER_ROWS[row]][index] for row in ("base", better, worse)]
    if None in cells:
        return None
    base, b, w = cells if column not in NLI else [100.0 - c for c in cells]
    return ((base - b) - (base - w)) / base * (100.0 - base_accuracy)


def _test(ctx, label: str, better, worse, pvalues, reasons, checks, runs, baseline_task=None, diffs=None) -> None:
    """One paired comparison into the per-task maps: its signal reason, or its one-sided p (paired t), the
    Wilcoxon check and the differences."""
    baseline = degenerate_threshold(ctx, baseline_task) if baseline_task and len(better) else None
    reason = tests.signal([better, worse], baseline)
    reasons[label] = reason
    if reason is None:
        pvalues[label] = tests.paired_t(better, worse, alternative="greater")
        checks[label] = tests.wilcoxon_paired(better, worse, alternative="greater").pvalue
        runs.append(len(better))
        if diffs is not None:
            diffs[label] = np.asarray(better, float) - np.asarray(worse, float)


def _finish(pvalues, reasons, checks, runs, diffs=None, expected=None) -> dict:
    """The verdict, with the power rule: a gain that is not significant is "not reproduced" only when it points
    the other way significantly or the test could have seen the paper's gain (tests.detectable_gain at 80% power)
    on some task; otherwise "could not tell"."""
    result = tests.verdict(pvalues, reasons, True, seeds=min(runs) if runs else None)
    detail = ", ".join(f"{k} {p:.3g}" for k, p in pvalues.items())
    check = tests.combine(checks.values()) if checks else float("nan")
    extra = (f" (one-sided paired-t p per comparison: {detail}; Wilcoxon check, combined p {check:.3g})"
             if pvalues else "")
    verdict, reason = result.verdict, result.reason
    if verdict == tests.NOT_REPRODUCED:
        other_way = tests.combine([1.0 - p for p in pvalues.values()])
        seen = {k: tests.detectable_gain(d) for k, d in (diffs or {}).items()}
        wanted = {k: (expected or {}).get(k) for k in seen}
        if other_way < tests.ALPHA:
            reason += f"; the other way: combined p {other_way:.3g}"
        elif seen and all(wanted[k] is None or seen[k] > wanted[k] for k in seen):
            verdict = tests.COULD_NOT_TELL
            reason = ("too few seeds to see the paper's gain: " + ", ".join(
                f"{k} detects ≥ {seen[k]:.2f} points, the paper's would be "
                + ("unknown" if wanted[k] is None else f"{wanted[k]:.2f}") for k in seen) + f" ({reason})")
    return {"verdict": verdict, "reason": reason + extra, "result": result}


def _columns(ctx, experiment: str, which: str = "all") -> list[str]:
    cols = planned_columns(ctx, experiment)
    return [c for c in cols if which == "all" or (which == "text") == (c not in NLI)]


def _each_arm(ctx, check: dict, worse: str, worse_metric: str = METRIC, worse_row: str = "base") -> dict:
    """Each arm of the claim (at its chosen K) against the same seeds' ``worse`` arm (its ``worse_metric``; Table 3
    row ``worse_row``), per task; the claim needs every arm."""
    parts = []
    for arm in check["arms"]:
        pvalues, reasons, checks, runs, diffs, expected = {}, {}, {}, [], {}, {}
        for column in _columns(ctx, check["experiment"]):
            b, w = _pairs(_accuracy(ctx, check["experiment"], column, arm),
                          _accuracy(ctx, check["experiment"], column, worse, worse_metric))
            _test(ctx, column, b, w, pvalues, reasons, checks, runs, our_task(ctx, column), diffs)
            base = _accuracy(ctx, check["experiment"], column, "base")
            expected[column] = paper_gain(ctx, column, arm, worse_row, float(np.mean(list(base.values())))) \
                if base else None
        parts.append((ARM_NAMES[arm], _finish(pvalues, reasons, checks, runs, diffs, expected)))
    return _all_of(parts)


def paired_gain(ctx, check: dict) -> dict:
    """SDA and SDV against BASE."""
    return _each_arm(ctx, check, check["base"])


def sd_over_se(ctx, check: dict) -> dict:
    """Each SD arm against SE of the same seed's BASE run (both in `self_distill`)."""
    return _each_arm(ctx, check, "base", "se_test", "se")


def _all_of(parts: list[tuple[str, dict]]) -> dict:
    kinds = [p["verdict"] for _, p in parts]
    if tests.NOT_REPRODUCED in kinds:
        verdict = tests.NOT_REPRODUCED
    elif all(k == tests.REPRODUCED for k in kinds):
        verdict = tests.REPRODUCED
    elif all(k == tests.NOT_RUN for k in kinds):
        verdict = tests.NOT_RUN
    else:
        verdict = tests.COULD_NOT_TELL
    return {"verdict": verdict, "reason": " | ".join(f"{name}: {p['verdict']}, {p['reason']}" for name, p in parts)}


def ensemble_gain(ctx, check: dict) -> dict:
    """VOTE or AVG against the mean of its own 4 members (or VOTE against AVG), one pair per group of 4 seeds."""
    pvalues, reasons, checks, runs, diffs, expected = {}, {}, {}, [], {}, {}
    if "ensembles" not in ctx.plan.experiments or ctx.read_outputs is None:
        return {"verdict": tests.NOT_RUN, "reason": "no BASE runs of `ensembles` at this profile"}
    for column in _columns(ctx, "ensembles"):
        groups = ensembles.group_scores(ctx, "ensembles", our_task(ctx, column))
        b = np.array([g[check["better"]] for g in groups])
        w = np.array([g[check["worse"]] for g in groups])
        _test(ctx, column, b, w, pvalues, reasons, checks, runs, our_task(ctx, column), diffs)
        members = [g["member_mean"] for g in groups]
        expected[column] = paper_gain(ctx, column, check["better"], check["worse"], float(np.mean(members))) \
            if members else None
    out = _finish(pvalues, reasons, checks, runs, diffs, expected)
    out["reason"] += f"; groups of {ensembles.K} seeds, accuracy x100"
    return out


def se_gain(ctx, check: dict) -> dict:
    """SE (each BASE run's averaged weights) against the same run's final weights, on the text tasks."""
    pvalues, reasons, checks, runs, diffs, expected = {}, {}, {}, [], {}, {}
    for column in _columns(ctx, check["experiment"], check.get("tasks", "all")):
        b, w = _pairs(_accuracy(ctx, check["experiment"], column, "base", "se_test"),
                      _accuracy(ctx, check["experiment"], column, "base"))
        _test(ctx, column, b, w, pvalues, reasons, checks, runs, our_task(ctx, column), diffs)
        expected[column] = paper_gain(ctx, column, "se", "base", float(np.mean(w))) if len(w) else None
    return _finish(pvalues, reasons, checks, runs, diffs, expected)


def _stability(ctx, check: dict, spread: bool) -> dict:
    """Figure 4: per SD arm against BASE over the same data orders (one task): mean by a paired t-test, spread by
    the Pitman-Morgan test for paired variances. The arms are combined as the tasks are elsewhere."""
    experiment = check["experiment"]
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return {"verdict": tests.NOT_RUN, "reason": f"`{experiment}` not run at this profile"}
    column = planned_columns(ctx, experiment)[0]
    base = _accuracy(ctx, experiment, column, check["base"])
    pvalues, reasons, checks, runs, pairs = {}, {}, {}, [], {}
    for arm in check["arms"]:
        b, w = _pairs(_accuracy(ctx, experiment, column, arm), base)
        name = ARM_NAMES.get(arm, arm)
        if not spread:
            _test(ctx, name, b, w, pvalues, reasons, checks, runs, our_task(ctx, column, experiment))
            continue
        reasons[name] = tests.signal([b, w], degenerate_threshold(ctx, our_task(ctx, column, experiment)) if len(b) else None,
                                     min_runs=3)
        if reasons[name] is None:
            pairs[name] = (b, w)
            pvalues[name] = tests.spread_lower_paired(b, w)
            runs.append(len(b))
            sd = (np.std(b, ddof=1), np.std(w, ddof=1))
            checks[name] = sd
    if spread:  # the paper's spreads are only drawn (Figure 4): no size to judge this test's power against, so a
        # spread that is not significantly smaller is "not reproduced" only when it is significantly larger
        result = tests.verdict(pvalues, reasons, True, seeds=min(runs) if runs else None)
        verdict, reason = result.verdict, result.reason
        if verdict == tests.NOT_REPRODUCED:
            larger = tests.combine([tests.spread_lower_paired(w, b) for b, w in pairs.values()])
            verdict = tests.NOT_REPRODUCED if larger < tests.ALPHA else tests.COULD_NOT_TELL
            reason += f"; larger spread: combined p {larger:.3g}"
        detail = ", ".join(f"{k}: sd {checks[k][0]:.2f} vs BASE {checks[k][1]:.2f}, p {p:.3g}"
                           for k, p in pvalues.items())
        return {"verdict": verdict, "reason": f"{reason}; {column_label(ctx, column, experiment)}" +
                (f" (Pitman-Morgan test of paired variances, one-sided: {detail})" if detail else "")}
    out = _finish(pvalues, reasons, checks, runs)
    out["reason"] += f"; {column_label(ctx, column, experiment)}"
    return out


MIN_BOOTSTRAP_SEEDS = 5


def lambda_range(ctx, check: dict, reps: int = 2000) -> dict:
    """Figure 3: the λ of lowest mean validation error, and how often a bootstrap over seeds puts it in
    [low, high] (seed SEED). Reproduced when that share is at least 95%, not reproduced at 5% or less."""
    experiment = check["experiment"]
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return {"verdict": tests.NOT_RUN, "reason": f"`{experiment}` not run at this profile"}
    frame = ctx.trials(experiment)
    frame = frame[frame["finished"] & (frame["raw_task"] == our_task(ctx, check["column"]))]
    if frame.empty:
        return {"verdict": tests.NOT_RUN, "reason": "no finished runs"}
    lam = frame["settings"].map(lambda s: float(dict(s)["lambda"]))
    points = sorted(set(lam))
    table = frame.assign(lam=lam).pivot_table(index="data_seed", columns="lam", values="val_last")
    table = table.dropna()
    best = float(table.columns[np.argmax(table.mean().to_numpy())]) if len(table) else float("nan")
    if len(table) < MIN_BOOTSTRAP_SEEDS:  # 3 seeds have 10 distinct resamples: no distribution to read
        return {"verdict": tests.COULD_NOT_TELL, "reason": f"too few seeds for a bootstrap of the best λ: {len(table)} "
                                                           f"with every λ (needs {MIN_BOOTSTRAP_SEEDS}); best mean "
                                                           f"validation at λ {best:g}"}
    rng = np.random.default_rng(SEED)
    draws = table.to_numpy()[rng.integers(0, len(table), size=(reps, len(table)))].mean(axis=1)
    picks = table.columns.to_numpy()[draws.argmax(axis=1)]
    share = float(np.mean((picks >= check["low"]) & (picks <= check["high"])))
    verdict = (tests.REPRODUCED if share >= 0.95 else tests.NOT_REPRODUCED if share <= 0.05 else tests.COULD_NOT_TELL)
    return {"verdict": verdict, "reason": f"best mean validation at λ {best:g} over {', '.join(f'{p:g}' for p in points)} "
                                          f"({len(table)} seeds); {100 * share:.0f}% of {reps} bootstrap draws over "
                                          f"seeds pick λ in [{check['low']:g}, {check['high']:g}]"}


CHECKS = {"paired_gain": paired_gain, "ensemble_gain": ensemble_gain, "se_gain": se_gain, "sd_over_se": sd_over_se,
          "stability_mean": lambda ctx, c: _stability(ctx, c, False),
          "stability_spread": lambda ctx, c: _stability(ctx, c, True), "lambda_range": lambda_range}


def verdicts(ctx: ReportContext) -> list[dict]:
    out = []
    for claim in ctx.published["claims"]:
        result = CHECKS[claim["check"]["kind"]](ctx, claim["check"])
        out.append({"id": claim["id"], "statement": f"{claim['statement']} ({claim['section']})",
                    "verdict": result["verdict"], "reason": result["reason"]})
    return out


def section_claims(ctx: ReportContext) -> str:
    return claims_section(ctx, verdicts(ctx),
                          "One-sided paired t-tests on test accuracy per task (by seed; VOTE/AVG by group of 4 BASE "
                          "seeds; Figure 4 by data order), Fisher-combined over the tasks with signal; the exact "
                          "Wilcoxon test's combined p is printed as a check. A claim over several arms needs each "
                          f"arm. Draws: seed {SEED}. The paper's own numbers are single runs.")

