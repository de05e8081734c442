"""Claim verdicts for Xu et al. 2020, as reports/published/selfdistill.yaml lists them. Every comparison is paired
(by seed; by BASE group for VOTE and AVG; by data order for Figure 4) and tested per task by the claims engine
(reports.comparisons, analysis.engine): an exact one-sided sign-flip test on the test split's counts of correct
examples, every task and every arm by intersection-union ("on all datasets" is a claim about each of them), the
power rule at the paper's gain, and Holm's correction across the report's claims. The paper's claims rest on
single runs."""
from __future__ import annotations

import numpy as np

from analysis import claims as tests
from analysis import engine
from reports.build import ReportContext
from reports.comparisons import Comparisons, all_of, decided, holm
from reports.kit import SEED, engine_claims_section, hours_per_trial, resolution
from reports.selfdistill import ensembles
from reports.selfdistill.common import (ARM_NAMES, METRIC, NLI, PAPER_TASKS, arm_accuracy, column_label, our_task,
                                        planned_columns)


def _accuracy(ctx, experiment, column, arm, metric=METRIC, **kept) -> dict[int, float]:
    return arm_accuracy(ctx, experiment, column, arm, metric, **kept)[0]


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


def _stand_in(ctx, column: str, experiment: str = "") -> str | None:
    """"AG-proxy for AG" where the profile trains a stand-in for the paper's dataset; None where it trains it."""
    ours = our_task(ctx, column, experiment)
    return None if ours == PAPER_TASKS[column] else f"{ours} for {column}"


def _columns(ctx, experiment: str, which: str = "all") -> list[str]:
    cols = planned_columns(ctx, experiment)
    return [c for c in cols if which == "all" or (which == "text") == (c not in NLI)]


def _each_arm(ctx, check: dict, worse: str, worse_metric: str = METRIC, worse_row: str = "base") -> dict:
    """Each arm of the claim (at its chosen K) against the same seeds' ``worse`` arm (its ``worse_metric``; Table 3
    row ``worse_row``), per task; the claim needs every arm."""
    parts = []
    for arm in check["arms"]:
        found = Comparisons(ctx, check.get("shape"))
        for column in _columns(ctx, check["experiment"]):
            b, w = _pairs(_accuracy(ctx, check["experiment"], column, arm),
                          _accuracy(ctx, check["experiment"], column, worse, worse_metric))
            base = list(_accuracy(ctx, check["experiment"], column, "base").values())
            found.add(column, b, w, our_task(ctx, column),
                      paper_gain(ctx, column, arm, worse_row, float(np.mean(base))) if base else None,
                      resolution=resolution(ctx, our_task(ctx, column)) if len(b) else None,
                      stand_in=_stand_in(ctx, column))
        parts.append((ARM_NAMES[arm], found.verdict()))
    return all_of(parts)


def paired_gain(ctx, check: dict) -> dict:
    """SDA and SDV against BASE."""
    return _each_arm(ctx, check, check["base"])


def sd_over_se(ctx, check: dict) -> dict:
    """Each SD arm against SE of the same seed's BASE run (both in `self_distill`)."""
    return _each_arm(ctx, check, "base", "se_test", "se")


def ensemble_gain(ctx, check: dict) -> dict:
    """VOTE or AVG against the mean of its own 4 members (or VOTE against AVG), one pair per group of 4 seeds."""
    if "ensembles" not in ctx.plan.experiments or ctx.read_outputs is None:
        return {"verdict": tests.NOT_RUN, "reason": "no BASE runs of `ensembles` at this profile"}
    found = Comparisons(ctx, check.get("shape"))
    for column in _columns(ctx, "ensembles"):
        groups = ensembles.group_scores(ctx, "ensembles", our_task(ctx, column))
        members = [g["member_mean"] for g in groups]
        found.add(column, [g[check["better"]] for g in groups], [g[check["worse"]] for g in groups],
                  our_task(ctx, column),
                  paper_gain(ctx, column, check["better"], check["worse"], float(np.mean(members))) if members
                  else None,  # a mean of 4 members' accuracies is not on the accuracy's grid: no resolution
                  resolution=resolution(ctx, our_task(ctx, column)) if groups and "member_mean" not in
                  (check["better"], check["worse"]) else None, stand_in=_stand_in(ctx, column))
    out = found.verdict()
    out["reason"] += f"; groups of {ensembles.K} seeds, accuracy x100"
    return out


def se_gain(ctx, check: dict) -> dict:
    """SE (each BASE run's averaged weights) against the same run's final weights, on the text tasks."""
    found = Comparisons(ctx, check.get("shape"))
    for column in _columns(ctx, check["experiment"], check.get("tasks", "all")):
        b, w = _pairs(_accuracy(ctx, check["experiment"], column, "base", "se_test"),
                      _accuracy(ctx, check["experiment"], column, "base"))
        found.add(column, b, w, our_task(ctx, column),
                  paper_gain(ctx, column, "se", "base", float(np.mean(w))) if len(w) else None,
                  resolution=resolution(ctx, our_task(ctx, column)) if len(b) else None,
                  stand_in=_stand_in(ctx, column))
    return found.verdict()


def _figure4(ctx, check: dict):
    """Figure 4's task column and its (arm name, SD arm's accuracy, BASE's) paired by data order, or None when the
    experiment does not run at this profile."""
    experiment = check["experiment"]
    if experiment in ctx.plan.skipped or experiment not in ctx.plan.experiments:
        return None
    columns = planned_columns(ctx, experiment)
    if not columns:  # the profile's `tasks` leave out Figure 4's task
        return None
    column = columns[0]
    base = _accuracy(ctx, experiment, column, check["base"])
    return column, [(ARM_NAMES.get(arm, arm), *_pairs(_accuracy(ctx, experiment, column, arm), base))
                    for arm in check["arms"]]


def stability_mean(ctx, check: dict) -> dict:
    """Figure 4's mean: each SD arm against BASE over the same data orders (one task), a paired t-test; the arms
    are combined as the tasks are elsewhere. The paper only draws the figure: no gain size for the power rule."""
    figure = _figure4(ctx, check)
    if figure is None:
        return {"verdict": tests.NOT_RUN, "reason": f"`{check['experiment']}` not run at this profile"}
    column, pairs = figure
    found = Comparisons(ctx, check.get("shape"))
    task = our_task(ctx, column, check["experiment"])
    for name, b, w in pairs:  # identical score vectors (SDA(5) and SDV(5) here) count once (analysis.engine.dedupe)
        found.add(name, b, w, task, resolution=resolution(ctx, task) if len(b) else None)
    out = found.verdict()
    out["reason"] += f"; {column_label(ctx, column, check['experiment'])}"
    return out


def stability_spread(ctx, check: dict) -> dict:
    """Figure 4's spread: each SD arm against BASE over the same data orders, the engine's lower_spread test (a
    sign-flip test of paired absolute deviations from each arm's median), every arm by intersection-union; arms with
    identical score vectors count once. The paper only draws the figure: no size for the power rule, so a
    spread that is not significantly smaller is "not reproduced" only when it is significantly larger."""
    figure = _figure4(ctx, check)
    if figure is None:
        return {"verdict": tests.NOT_RUN, "reason": f"`{check['experiment']}` not run at this profile"}
    column, pairs = figure
    rows = [(name, arm, i, v) for name, b, w in pairs for arm, values in (("sd", b), ("base", w))
            for i, v in enumerate(values)]
    units = [engine.Unit(name, "sd", "base", name, dataset=column) for name, _, _ in pairs]
    result = engine.evaluate("", engine.Shape.from_yaml(check["shape"]), engine.frame(rows), units)
    out = decided(result)
    out["reason"] += f"; {column_label(ctx, column, check['experiment'])}"
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
    values, lams = table.to_numpy(), table.columns.to_numpy()
    inside = (lams >= check["low"]) & (lams <= check["high"])
    share = in_range_share(values, inside, np.random.default_rng(SEED), reps)
    verdict = (tests.REPRODUCED if share >= 0.95 else tests.NOT_REPRODUCED if share <= 0.05 else tests.COULD_NOT_TELL)
    out = {"verdict": verdict, "reason": f"best mean validation at λ {best:g} over {', '.join(f'{p:g}' for p in points)} "
                                         f"({len(table)} seeds); {100 * share:.0f}% of {reps} bootstrap draws over "
                                         f"seeds pick λ in [{check['low']:g}, {check['high']:g}]"}
    if verdict == tests.COULD_NOT_TELL:
        n, basis = lambda_seeds_needed(values, inside)
        hours = n * len(lams) * hours_per_trial(ctx, experiment)
        out.update(pairs_needed=n, needed_basis=basis, hours_needed=hours)
        out["reason"] += (f"; needs {engine.about(n)} seeds at {basis}, by a nested bootstrap"
                          + (f" (about {hours:.1f} trial-hours at this profile)" if np.isfinite(hours) else ""))
    return out


def in_range_share(values: np.ndarray, inside: np.ndarray, rng, reps: int) -> float:
    """The share of ``reps`` bootstrap draws over the seeds (rows of ``values``, one column a λ) whose best mean is a
    λ in range (``inside``)."""
    draws = values[rng.integers(0, len(values), size=(reps, len(values)))].mean(axis=1)
    return float(np.mean(inside[draws.argmax(axis=1)]))


LAMBDA_SEEDS = (5, 8, 10, 15, 20, 30, 40, 60, 80, 100, 150, 200, 300, 500, 1000)


def lambda_seeds_needed(values: np.ndarray, inside: np.ndarray, worlds: int = 200, reps: int = 400,
                        power: float = engine.POWER) -> tuple[int, str]:
    """The fewest seeds (of LAMBDA_SEEDS) at which `lambda_range` would decide with ``power``, were the seeds seen
    the population (the engine's "at the effect seen"): draw ``worlds`` experiments of n seeds from them, and count
    those whose bootstrap share crosses 95% (the best λ seen in range; else 5%, the other way). Seed SEED."""
    rng = np.random.default_rng(SEED)
    towards = bool(inside[values.mean(axis=0).argmax()])
    basis = "the validation seen" if towards else "the validation seen, to refute it"
    for n in LAMBDA_SEEDS:
        shares = np.array([in_range_share(values[rng.integers(0, len(values), n)], inside, rng, reps)
                           for _ in range(worlds)])
        if np.mean(shares >= 0.95 if towards else shares <= 0.05) >= power:
            return n, basis
    return engine.MOST_PAIRS + 1, basis  # "more than 1000"


CHECKS = {"paired_gain": paired_gain, "ensemble_gain": ensemble_gain, "se_gain": se_gain, "sd_over_se": sd_over_se,
          "stability_mean": stability_mean, "stability_spread": stability_spread, "lambda_range": lambda_range}


def verdicts(ctx: ReportContext) -> list[dict]:
    """One dict per claim (id, statement, verdict, reason; the engine's claims also p, p_adjusted, effect, pairs,
    power), Holm-adjusted across the report's engine-decided claims; computed once per build."""
    if "selfdistill_verdicts" not in ctx.memo:
        out = []
        for claim in ctx.published["claims"]:
            result = CHECKS[claim["check"]["kind"]](ctx, {**claim["check"], "shape": claim.get("shape")})
            out.append({"id": claim["id"], "statement": f"{claim['statement']} ({claim['section']})", **result})
        ctx.memo["selfdistill_verdicts"] = holm(out, ctx.published["claims"], hours_per_trial(ctx))
    return [dict(v) for v in ctx.memo["selfdistill_verdicts"]]


def section_claims(ctx: ReportContext) -> str:
    return engine_claims_section(ctx, verdicts(ctx), (
        "Per task an exact one-sided sign-flip test of the paired differences (by seed; VOTE/AVG by group of 4 BASE "
        "seeds; Figure 4 by data order) on the test split's counts of correct examples; a claim over several tasks "
        "or arms holds when every one does (intersection-union: its p is the largest). A non-significant result "
        "reads \"not reproduced\" only when a comparison goes the other way or had 80% power for the paper's gain "
        "(its Table 3 relative error reduction on our error); else \"could not tell\". p in brackets: Holm-adjusted "
        "over the report's claims decided this way. Figure 4's spread: the same sign-flip test on paired absolute "
        "deviations from each arm's median. λ's range keeps its own bootstrap over seeds (named in its reason), "
        f"outside Holm's family. Draws: seed {SEED}. The paper's own numbers are single runs."))

