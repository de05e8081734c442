"""Statistical checks behind the claim verdicts: one-sided per-task p-values from scipy, combined across tasks
with Fisher's method, and the verdict layer over them: which comparisons carry a signal (`signal`), the smallest
p-value an exact test can reach at a number of runs (`exact_floor`), and what the data can tell about a claim
(`verdict`). Pure functions over arrays; every random draw takes an explicit seed."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

ALPHA = 0.05

# The four verdicts, in the order an index counts them.
REPRODUCED, NOT_REPRODUCED, COULD_NOT_TELL, NOT_RUN = "reproduced", "not reproduced", "could not tell", "not run"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, COULD_NOT_TELL, NOT_RUN)

# Why a comparison stays out of a claim's combined test (`signal`).
NO_RUNS = "no finished runs"
AT_BASELINE = "all runs at the majority baseline"
NO_VARIANCE = "no variance in either arm"
NO_EVENTS = "no run at the majority baseline in either arm"
BASELINE_TOL = 1e-9  # a score within this of the baseline is at it (scores x100)


def variance_lower(better, worse) -> float:
    """One-sided Brown-Forsythe (Levene, median-centred) test that ``better`` has the smaller spread.
    NaN below three runs a side: with two, both deviations from the median are equal and the test degenerates."""
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    if len(better) < 3 or len(worse) < 3:
        return float("nan")
    if np.var(better) == np.var(worse) == 0:
        return 1.0
    p = stats.levene(better, worse, center="median").pvalue
    return float(p / 2 if np.var(better, ddof=1) < np.var(worse, ddof=1) else 1 - p / 2)


def fewer_events(events_better: int, n_better: int, events_worse: int, n_worse: int) -> float:
    """One-sided Fisher exact test that the event (a degenerate run) is rarer in ``better``."""
    table = [[events_better, n_better - events_better], [events_worse, n_worse - events_worse]]
    return float(stats.fisher_exact(table, alternative="less").pvalue)


def mean_higher(better, worse) -> float:
    """One-tailed Student's t-test (the paper's test) that ``better`` has the higher mean."""
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    if len(better) < 2 or len(worse) < 2:
        return float("nan")
    if np.ptp(np.concatenate([better, worse])) == 0:
        return 1.0
    with warnings.catch_warnings():  # nearly identical scores (runs at the majority baseline) are a valid input
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(better, worse, alternative="greater").pvalue)


def two_tailed(a, b) -> float:
    """Two-tailed Student's t-test (Table 4's test); NaN without two runs a side."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b).pvalue)


def min_higher(better, worse, seed: int, resamples: int = 9999) -> float:
    """Permutation test that the worst (minimum) run of ``better`` is higher than that of ``worse``."""
    better, worse = np.asarray(better, float), np.asarray(worse, float)
    if len(better) < 2 or len(worse) < 2:
        return float("nan")
    result = stats.permutation_test((better, worse), lambda a, b, axis: np.min(a, axis=axis) - np.min(b, axis=axis),
                                    n_resamples=resamples, alternative="greater", vectorized=True,
                                    rng=np.random.default_rng(seed))
    return float(result.pvalue)


def gap_narrows(reinit_short, standard_short, reinit_long, standard_long, seed: int, reps: int = 10000) -> float:
    """Bootstrap p-value that (mean Re-init - mean standard) is smaller after training longer: the share of
    resamples in which the longer gap is at least the 3-epoch gap."""
    groups = [np.asarray(g, float) for g in (reinit_short, standard_short, reinit_long, standard_long)]
    if any(len(g) < 2 for g in groups):
        return float("nan")
    rng = np.random.default_rng(seed)
    means = [g[rng.integers(0, len(g), size=(reps, len(g)))].mean(axis=1) for g in groups]
    short_gap, long_gap = means[0] - means[1], means[2] - means[3]
    return float((np.sum(long_gap >= short_gap) + 1) / (reps + 1))


def combine(pvalues) -> float:
    """Fisher's method over the tasks that gave a p-value."""
    finite = [p for p in pvalues if np.isfinite(p)]
    if not finite:
        return float("nan")
    if len(finite) == 1:
        return float(finite[0])
    return float(stats.combine_pvalues(np.clip(finite, 1e-300, 1.0), method="fisher").pvalue)


def too_few(min_runs: int) -> str:
    return f"fewer than {min_runs} runs a side"


def signal(arms, baseline: float | None = None, *, min_runs: int = 2, spread: bool = True,
           events: bool = False) -> str | None:
    """Why a comparison between ``arms`` (arrays of per-run scores) can tell nothing, or None when it can.

    In order: an arm without runs (NO_RUNS: not run); an arm with fewer than ``min_runs`` runs (too few seeds);
    every run of every arm at or below ``baseline`` (AT_BASELINE: the models learnt nothing); no spread within
    any arm (NO_VARIANCE: a test on means or spreads has no error to measure against; skipped with
    ``spread=False``, for tests that count events); for ``events`` tests (runs at the baseline counted per arm),
    no such run in any arm (NO_EVENTS: nothing to be rarer)."""
    arms = [np.asarray(a, float) for a in arms]
    if not arms or any(a.size == 0 for a in arms):
        return NO_RUNS
    if any(a.size < min_runs for a in arms):
        return too_few(min_runs)
    at = [a <= baseline + BASELINE_TOL for a in arms] if baseline is not None else None
    if at is not None and all(x.all() for x in at):
        return AT_BASELINE
    if spread and all(np.ptp(a) == 0 for a in arms):
        return NO_VARIANCE if len(arms) == 2 else "no variance in any arm"
    if events and at is not None and not any(x.any() for x in at):
        return NO_EVENTS
    return None


def reason_kind(reason: str) -> str:
    """The verdict a left-out comparison points to: NOT_RUN, "too few seeds" or "no signal"."""
    if reason == NO_RUNS:
        return NOT_RUN
    return "too few seeds" if reason.startswith("fewer than") else "no signal"


def exact_floor(n_better: int, n_worse: int, resamples: int | None = None) -> float:
    """The smallest p-value an exact test of two groups (Fisher's exact test, a permutation test) can reach:
    one arrangement out of C(n_better + n_worse, n_better); a Monte Carlo test with ``resamples`` draws (scipy
    draws when the arrangements outnumber them) cannot go below 1 / (resamples + 1)."""
    arrangements = math.comb(n_better + n_worse, n_better)
    if resamples is not None and arrangements > resamples:
        return 1.0 / (resamples + 1)
    return 1.0 / arrangements


@dataclass(frozen=True)
class Verdict:
    """What the data can tell about one claim. ``per_task``: the p-value of each task in the combined test;
    ``left_out``: task -> why it stayed out; ``seeds``: fewest runs a side among the tested tasks;
    ``control_p``: the positive control's combined p over the same tasks (no-gain claims)."""
    verdict: str
    reason: str
    combined_p: float = float("nan")
    per_task: dict = field(default_factory=dict)
    left_out: dict = field(default_factory=dict)
    seeds: int | None = None
    control_p: float = float("nan")


def _grouped(reasons: dict) -> str:
    by_reason: dict[str, list[str]] = {}
    for task, reason in reasons.items():
        by_reason.setdefault(reason, []).append(task)
    return "; ".join(f"{', '.join(tasks)} {reason}" for reason, tasks in by_reason.items())


def verdict(pvalues_by_task: dict, reasons_by_task: dict, expects_effect: bool = True,
            control: Verdict | None = None, *, floors: dict | None = None, seeds: int | None = None,
            control_name: str = "the positive control", alpha: float = ALPHA) -> Verdict:
    """The verdict on a claim from its per-task one-sided p-values (in the claimed direction; for a no-gain claim,
    in the direction of a gain) and each task's `signal` reason (None: the task has signal).

    Tasks with a reason stay out of Fisher's combination. No task left: "not run" when no task has runs, else
    "could not tell" (no signal on any task, or too few seeds). "could not tell" too when even the strongest
    outcome could not reach ``alpha``: Fisher's combination of the ``floors`` (task -> smallest attainable p at
    these runs, see `exact_floor`) is at least ``alpha``. A claim of an effect is reproduced when the combined
    p < ``alpha``. A claim of no effect needs a positive control (``control``: a verdict on a comparison expected
    to show an effect, usually from the same runs): restricted to the tasks tested here, its combined p must be
    below ``alpha``, else "could not tell"; then a combined p >= ``alpha`` reproduces the claim."""
    tasks = list(dict.fromkeys([*reasons_by_task, *pvalues_by_task]))
    left, tested = {}, {}
    for task in tasks:
        reason, p = reasons_by_task.get(task), pvalues_by_task.get(task, float("nan"))
        if reason is None and not np.isfinite(p):
            reason = "no p-value"
        if reason is None:
            tested[task] = float(p)
        else:
            left[task] = reason
    if not tested:
        kinds = {reason_kind(r) for r in left.values()} - {NOT_RUN}
        if not kinds:
            return Verdict(NOT_RUN, "no finished runs on any task" if left else "no task", left_out=left)
        prefix = ("too few seeds" if kinds == {"too few seeds"} else
                  "no signal on any task" if kinds == {"no signal"} else "no task could be tested")
        return Verdict(COULD_NOT_TELL, f"{prefix}: {_grouped(left)}", left_out=left, seeds=seeds)
    combined = combine(tested.values())
    over = f"over {', '.join(tested)}" + (f" (left out: {_grouped(left)})" if left else "")
    at = f" at {seeds} runs a side" if seeds is not None else ""
    common = dict(combined_p=combined, per_task=tested, left_out=left, seeds=seeds)
    floor = combine([floors.get(t, 0.0) for t in tested]) if floors else 0.0
    if floor >= alpha:
        return Verdict(COULD_NOT_TELL, f"too few seeds: with {seeds if seeds is not None else 'these'} runs a "
                       f"side the smallest attainable p is {floor:.3g} {over}", **common)
    significant = f"combined p {combined:.3g} {'<' if combined < alpha else '≥'} {alpha}{at} {over}"
    if expects_effect:
        return Verdict(REPRODUCED if combined < alpha else NOT_REPRODUCED, significant, **common)
    if control is None:
        return Verdict(COULD_NOT_TELL, f"a no-gain claim needs a positive control; none given ({significant})",
                       **common)
    shared = {t: control.per_task[t] for t in tested if t in control.per_task}
    if not shared:
        why = control.reason if control.verdict != REPRODUCED else f"it was tested on {', '.join(control.per_task)}"
        return Verdict(COULD_NOT_TELL, f"the positive control ({control_name}) could not be tested on "
                       f"{', '.join(tested)}: {why}", **common)
    control_p = combine(shared.values())
    control_seeds = control.seeds if control.seeds is not None else seeds
    control_text = (f"the positive control ({control_name}) "
                    f"{'was significant' if control_p < alpha else 'was not significant'}"
                    f"{f' at {control_seeds} seeds' if control_seeds is not None else ''}: "
                    f"p {control_p:.3g} over {', '.join(shared)}")
    common["control_p"] = control_p
    if control_p >= alpha:
        return Verdict(COULD_NOT_TELL, f"{control_text}; the claim's own {significant}", **common)
    if combined < alpha:
        return Verdict(NOT_REPRODUCED, f"a significant gain: {significant}, and {control_text}", **common)
    return Verdict(REPRODUCED, f"no significant gain: {significant}, while {control_text}", **common)


@dataclass(frozen=True)
class PairedTest:
    statistic: float  # scipy's W: the smaller rank sum (two-sided) or the positive ranks' sum (one-sided)
    pvalue: float
    n: int  # non-zero pairs ranked
    zeros: int  # pairs with no difference, dropped before ranking
    mean_diff: float  # mean of a - b over the complete pairs


def wilcoxon_paired(a, b, alternative: str = "two-sided") -> PairedTest:
    """Exact Wilcoxon signed-rank test of a - b paired by seed (Kobyzev et al. Table 8: two-sided, SST-5 test
    accuracy, 8 seeds; its printed .01 / .46 / .94 are the exact p of W = 0 / 12 / 17 at n = 8, not the normal
    approximation's). Pairs with a NaN are dropped; zero differences are dropped before ranking (Wilcoxon's
    convention), so ``n`` counts the pairs ranked. Tied |differences| take mid-ranks and the null distribution is
    enumerated over every sign vector of those ranks (scipy's exact method reads the no-ties table, off by up to
    0.25 with ties); beyond analysis.engine.EXACT_PAIRS pairs, Monte Carlo with a fixed seed. Pass scores on their
    own resolution (analysis.engine.on_resolution): float noise must not break a tie. No p falls below
    smallest_p(n): 0.0625 two-sided at n = 5."""
    from analysis.engine import _signs, _tail
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths (got {a.size} and {b.size})")
    keep = ~(np.isnan(a) | np.isnan(b))
    d = a[keep] - b[keep]
    zeros = int(np.sum(d == 0))
    mean_diff = float(d.mean()) if d.size else float("nan")
    nonzero = d[d != 0]
    if nonzero.size == 0:
        return PairedTest(float("nan"), 1.0, 0, zeros, mean_diff)
    ranks = stats.rankdata(np.abs(nonzero))  # mid-ranks for ties
    signs, exact = _signs(nonzero.size, seed=2021)
    # T+ - T- (= 2 T+ - total) is symmetric about 0 under H0: its tails give every alternative
    null = signs @ ranks
    observed = float(np.sum(np.sign(nonzero) * ranks))
    pvalue = min(1.0, _tail(null, observed, alternative, exact))
    w_plus = float(ranks[nonzero > 0].sum())
    statistic = min(w_plus, ranks.sum() - w_plus) if alternative == "two-sided" else w_plus
    return PairedTest(statistic, pvalue, int(nonzero.size), zeros, mean_diff)


def paired_t(a, b, alternative: str = "two-sided") -> float:
    """Paired t-test of a - b (scipy's ttest_rel); NaN below two complete pairs. Differences without spread make t
    infinite or undefined: p 0 when they all point the tested way, else 1."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = ~(np.isnan(a) | np.isnan(b))
    d = a[keep] - b[keep]
    if d.size < 2:
        return float("nan")
    if np.ptp(d) == 0:  # no spread in the differences: t is infinite (all equal and non-zero) or undefined (all 0)
        way = {"greater": d[0] > 0, "less": d[0] < 0}.get(alternative, d[0] != 0)
        return 0.0 if way else 1.0
    return float(stats.ttest_rel(a[keep], b[keep], alternative=alternative).pvalue)


def equivalent(differences, margin: float, alpha: float = ALPHA) -> tuple[bool, tuple[float, float]]:
    """Two one-sided tests (TOST) on paired differences: equivalent within ±``margin`` when the (1 - 2 alpha)
    t confidence interval of the mean difference lies inside it. Returns (equivalent?, that interval)."""
    d = np.asarray(differences, float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return False, (float("nan"), float("nan"))
    half = stats.t.ppf(1 - alpha, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    low, high = d.mean() - half, d.mean() + half
    return bool(-margin < low and high < margin), (float(low), float(high))


def detectable_gain(differences, alpha: float = ALPHA, power: float = 0.8) -> float:
    """The smallest mean gain a one-sided paired t-test at ``alpha`` finds with probability ``power``, given these
    paired differences' spread: (t_{1-alpha} + t_{power}) x sd / sqrt(n), n - 1 degrees of freedom. Infinite
    below two pairs."""
    d = np.asarray(differences, float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return float("inf")
    df = d.size - 1
    return float((stats.t.ppf(1 - alpha, df) + stats.t.ppf(power, df)) * d.std(ddof=1) / math.sqrt(d.size))


def spread_lower_paired(better, worse) -> float:
    """Pitman-Morgan test that ``better`` has the smaller variance than ``worse``, the two measured in pairs (the
    same data order): var(w) - var(b) = cov(w + b, w - b), so a one-sided Pearson test of that correlation > 0.
    NaN below three pairs."""
    b, w = np.asarray(better, float), np.asarray(worse, float)
    keep = ~(np.isnan(b) | np.isnan(w))
    b, w = b[keep], w[keep]
    if b.size < 3 or np.ptp(w + b) == 0 or np.ptp(w - b) == 0:
        return float("nan")
    return float(stats.pearsonr(w + b, w - b, alternative="greater").pvalue)


def smallest_p(n: int, alternative: str = "two-sided") -> float:
    """The smallest p an exact signed-rank test of n pairs can give: every pair on one side."""
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) / 2 ** n)

