"""Statistical checks behind the claim verdicts: one-sided per-task p-values from scipy, combined across tasks
with Fisher's method. Pure functions over arrays; every random draw takes an explicit seed."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

ALPHA = 0.05


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
