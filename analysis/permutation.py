"""Sign-flip permutation machinery shared by the claims engine (analysis.engine) and the papers' own Wilcoxon test
(analysis.claims): every sign vector up to EXACT_PAIRS pairs, a seeded Monte Carlo sample beyond, and the tail
probability of an observed statistic among the permuted ones."""
from __future__ import annotations

import functools

import numpy as np

EXACT_PAIRS = 16  # sign-flip tests enumerate all 2^n sign vectors up to here
RESAMPLES = 99_999  # Monte Carlo sign vectors beyond it


@functools.lru_cache(maxsize=EXACT_PAIRS + 1)
def _all_signs(n: int) -> np.ndarray:
    """Every +-1 vector of length n, as a (2^n, n) matrix."""
    grid = (np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1
    return (1 - 2 * grid).astype(np.int8)


def sign_vectors(n: int, seed: int) -> tuple[np.ndarray, bool]:
    """The sign vectors of n pairs and whether they are all of them (exact) or a seeded sample."""
    if n <= EXACT_PAIRS:
        return _all_signs(n), True
    return np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=(RESAMPLES, n)), False


def tail_p(null: np.ndarray, observed: float, alternative: str, exact: bool) -> float:
    """P of a statistic at least as extreme as ``observed`` among the permuted ``null`` (+1 smoothing when sampled)."""
    tol = 1e-9 * max(1.0, abs(observed))  # the observed arrangement is in the null: count it with float slack
    if alternative == "greater":
        hits = np.sum(null >= observed - tol)
    elif alternative == "less":
        hits = np.sum(null <= observed + tol)
    else:
        hits = np.sum(np.abs(null) >= abs(observed) - tol)
    return float(hits / null.size) if exact else float((hits + 1) / (null.size + 1))
