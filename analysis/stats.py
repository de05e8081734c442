"""Pure statistics over plain arrays (no MLflow, no I/O); every random draw takes an explicit seed."""
from __future__ import annotations

import warnings
from math import comb

import numpy as np
from scipy import stats


def mean_std(values) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1; 0 for a single value) and count, NaNs dropped."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, int(v.size)


def best_and_equivalent(groups: dict[str, np.ndarray], alpha: float = 0.05) -> dict[str, float]:
    """Table 1's rule: the cell with the best mean, and every cell a one-tailed Student's t-test cannot tell
    apart from it (H1: best > other, reject when p < alpha). Returns {cell: p-value} for the marked cells
    (the best gets p = 1.0)."""
    cells = {k: np.asarray(v, dtype=float) for k, v in groups.items() if len(v) > 0}
    if not cells:
        return {}
    best = max(cells, key=lambda k: np.nanmean(cells[k]))
    marked = {best: 1.0}
    for name, values in cells.items():
        if name == best:
            continue
        if len(values) < 2 or len(cells[best]) < 2:
            continue  # no variance estimate: cannot claim equivalence
        with warnings.catch_warnings():  # identical samples: scipy warns and returns NaN (no evidence of a gap)
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ttest_ind(cells[best], values, equal_var=True, alternative="greater").pvalue)
        if np.isnan(p) or p >= alpha:
            marked[name] = 1.0 if np.isnan(p) else p
    return marked


def expected_max(values, n: int, replace: bool = True) -> float:
    """Expected maximum of n draws from the N observed values (Dodge et al. 2019).

    With replacement: P(max = v_(i)) = (i/N)^n - ((i-1)/N)^n over the sorted values.
    Without replacement: P(max = v_(i)) = C(i-1, n-1) / C(N, n).
    """
    v = np.sort(np.asarray(values, dtype=float))
    big_n = v.size
    if n < 1 or big_n == 0:
        raise ValueError(f"expected_max needs n >= 1 and at least one value (n={n}, N={big_n})")
    i = np.arange(1, big_n + 1)
    if replace:
        p = (i / big_n) ** n - ((i - 1) / big_n) ** n
    else:
        if n > big_n:
            raise ValueError(f"cannot draw {n} without replacement from {big_n} values")
        p = np.array([comb(k - 1, n - 1) for k in i], dtype=float) / comb(big_n, n)
    return float(np.dot(p, v))


def bootstrap_selection(val, test, trials: list[int], reps: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Expected performance of 'run n trials, keep the best on validation' (Zhang et al. 2021, Fig. 4 and 12).

    For each n: draw n runs with replacement, select by validation (first of ties), record its validation
    and test score; repeat ``reps`` times. Returns mean and std of both, one entry per n.
    """
    val, test = np.asarray(val, dtype=float), np.asarray(test, dtype=float)
    if val.shape != test.shape or val.size == 0:
        raise ValueError("bootstrap_selection needs equally many (at least one) validation and test scores")
    rng = np.random.default_rng(seed)
    out = {k: np.zeros(len(trials)) for k in ("val_mean", "val_std", "test_mean", "test_std")}
    for j, n in enumerate(trials):
        draws = rng.integers(0, val.size, size=(reps, n))
        chosen = draws[np.arange(reps), np.argmax(val[draws], axis=1)]
        out["val_mean"][j], out["val_std"][j] = val[chosen].mean(), val[chosen].std()
        out["test_mean"][j], out["test_std"][j] = test[chosen].mean(), test[chosen].std()
    return out


def adam_bias_ratio(steps, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    """Size of BERTAdam's update relative to Adam's at step t: (1 - beta1^t) / sqrt(1 - beta2^t) (Sec. 4, Fig. 1)."""
    t = np.asarray(steps, dtype=float)
    return (1 - beta1 ** t) / np.sqrt(1 - beta2 ** t)


def band(curves: dict[str, list[tuple[int, float]]]) -> dict[str, np.ndarray]:
    """Mean, min and max across runs at each step (runs that stopped early just drop out of later steps)."""
    steps = sorted({s for points in curves.values() for s, _ in points})
    if not steps:
        return {"step": np.array([]), "mean": np.array([]), "min": np.array([]), "max": np.array([])}
    index = {s: i for i, s in enumerate(steps)}
    grid = np.full((len(curves), len(steps)), np.nan)
    for row, points in enumerate(curves.values()):
        for s, v in points:
            grid[row, index[s]] = v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"step": np.array(steps), "mean": np.nanmean(grid, 0), "min": np.nanmin(grid, 0),
                "max": np.nanmax(grid, 0)}
