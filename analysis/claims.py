"""The verdict names, the signal check a table's significance marks and no-change claims use (`signal`), and the
papers' own tests where a table prints them: Student's t (Zhang et al. Table 1's rule), the exact Wilcoxon
signed-rank test with mid-ranks (Kobyzev et al. Table 8).
Claim verdicts come from analysis.engine. Pure functions over arrays."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.permutation import sign_vectors, tail_p

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
    0.25 with ties); beyond analysis.permutation.EXACT_PAIRS pairs, Monte Carlo with a fixed seed. Pass scores on their
    own resolution (analysis.engine.on_resolution): float noise must not break a tie. No p falls below
    smallest_p(n): 0.0625 two-sided at n = 5."""
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
    signs, exact = sign_vectors(nonzero.size, seed=2021)
    # T+ - T- (= 2 T+ - total) is symmetric about 0 under H0: its tails give every alternative
    null = signs @ ranks
    observed = float(np.sum(np.sign(nonzero) * ranks))
    pvalue = min(1.0, tail_p(null, observed, alternative, exact))
    w_plus = float(ranks[nonzero > 0].sum())
    statistic = min(w_plus, ranks.sum() - w_plus) if alternative == "two-sided" else w_plus
    return PairedTest(statistic, pvalue, int(nonzero.size), zeros, mean_diff)


def smallest_p(n: int, alternative: str = "two-sided") -> float:
    """The smallest p an exact signed-rank test of n pairs can give: every pair on one side."""
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) / 2 ** n)

