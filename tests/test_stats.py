"""Statistics: expected maximum (Dodge et al.), bootstrap selection, Table 1's t-test rule, exact Wilcoxon
(Kobyzev et al. Table 8)."""
import math

import numpy as np
import pytest

from analysis.stats import best_and_equivalent, bootstrap_selection, expected_max, mean_std


def test_expected_max_worked_by_hand():
    # With replacement, n=2 from {1,2,3}: P(max=1)=1/9, P(2)=3/9, P(3)=5/9 -> 22/9.
    assert expected_max([3, 1, 2], 2) == pytest.approx(22 / 9)
    # Without replacement: pairs {1,2},{1,3},{2,3} -> (2 + 3 + 3) / 3 = 8/3.
    assert expected_max([3, 1, 2], 2, replace=False) == pytest.approx(8 / 3)
    assert expected_max([4, 1, 2, 9], 1) == pytest.approx(4.0)  # n=1 is the mean
    assert expected_max([4, 1, 2, 9], 4, replace=False) == 9.0  # all N without replacement is the max
    with pytest.raises(ValueError, match="cannot draw 5 without replacement from 4"):
        expected_max([4, 1, 2, 9], 5, replace=False)


def test_expected_max_increases_with_n():
    values = np.random.default_rng(0).normal(size=30)
    curve = [expected_max(values, n) for n in range(1, 20)]
    assert all(b >= a for a, b in zip(curve, curve[1:]))


def test_bootstrap_selection_is_seeded_and_selects_on_validation():
    val = np.array([0.1, 0.9, 0.5, 0.3])
    test = np.array([0.0, 1.0, 0.2, 0.4])
    a = bootstrap_selection(val, test, [1, 2, 50], reps=500, seed=7)
    b = bootstrap_selection(val, test, [1, 2, 50], reps=500, seed=7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert a["test_mean"][0] == pytest.approx(test.mean(), abs=0.05)  # one trial: no selection
    assert a["test_mean"][2] == pytest.approx(1.0, abs=1e-9)  # 50 draws always include the best-val run
    assert a["val_std"][2] == pytest.approx(0.0, abs=1e-9)


def test_best_and_equivalent_follows_the_one_tailed_rule():
    clear = best_and_equivalent({"a": [70, 71, 69, 70], "b": [60, 61, 59, 60]})
    assert list(clear) == ["a"]
    close = best_and_equivalent({"a": [70, 72, 68, 70], "b": [69, 71, 70, 68]})
    assert set(close) == {"a", "b"} and 0.05 <= close["b"] < 1
    assert mean_std([1.0, 3.0, np.nan]) == (2.0, pytest.approx(np.sqrt(2)), 2)


def test_adam_bias_ratio_matches_the_optimizers():
    from analysis.stats import adam_bias_ratio
    assert adam_bias_ratio(1) == pytest.approx(0.1 / np.sqrt(0.001))  # the first BERTAdam step is 3.16x Adam's
    peak = np.argmax(adam_bias_ratio(np.arange(1, 100))) + 1
    assert peak == 12 and adam_bias_ratio(peak) > 6.5  # Fig. 1's maximum above 6
    assert adam_bias_ratio(36816) == pytest.approx(1.0, abs=1e-6)  # MNLI's 3 epochs: converged to 1


def test_band_across_runs_of_unequal_length():
    from analysis.stats import band
    out = band({"a": [(1, 1.0), (2, 3.0)], "b": [(1, 3.0)]})
    assert out["step"].tolist() == [1, 2]
    assert out["mean"].tolist() == [2.0, 3.0]
    assert out["min"].tolist() == [1.0, 3.0] and out["max"].tolist() == [3.0, 3.0]


def test_wilcoxon_paired_reproduces_table_8s_exact_p_values():
    """Kobyzev et al. Table 8 (n = 8 seeds): W = 0, 12 and 17 give the printed .01, .46 and .94 only exactly."""
    from analysis.stats import smallest_p, wilcoxon_paired
    base = np.zeros(8)
    ranks = np.arange(1.0, 9.0)
    for negative, w, p in (([], 0, 0.0078125), ([0, 3, 6], 12, 0.4609375), ([1, 6, 7], 17, 0.9453125)):
        d = ranks.copy()
        d[negative] *= -1
        test = wilcoxon_paired(base + d, base)
        assert (test.statistic, test.pvalue, test.n, test.zeros) == (w, p, 8, 0)
    assert smallest_p(5) == 0.0625 and smallest_p(5, "greater") == 0.03125  # 5 seeds cannot reach .05 two-sided
    assert wilcoxon_paired(ranks[:5], np.zeros(5)).pvalue == 0.0625


def test_wilcoxon_paired_drops_ties_and_missing_pairs_and_says_so():
    from analysis.stats import wilcoxon_paired
    test = wilcoxon_paired([1.0, 2.0, 3.0, np.nan, 5.0], [1.0, 1.0, 1.0, 0.0, 1.0], alternative="greater")
    assert (test.n, test.zeros, test.mean_diff) == (3, 1, 1.75)  # one tie dropped, the NaN pair left out
    assert test.pvalue == 0.125  # all three ranked pairs positive: 1 / 2^3
    assert wilcoxon_paired([1.0, 2.0], [1.0, 2.0]).pvalue == 1.0  # nothing to rank: no evidence
    with pytest.raises(ValueError, match="equal lengths"):
        wilcoxon_paired([1.0], [1.0, 2.0])


def test_fisher_combined_is_the_chi_square_closed_form():
    from analysis.stats import fisher_combined
    p = [0.1, 0.2, 0.3]
    x = -2 * np.log(p).sum()
    closed = float(np.exp(-x / 2) * sum((x / 2) ** k / math.factorial(k) for k in range(3)))  # chi2 sf, 6 dof
    assert fisher_combined(p) == pytest.approx(closed, rel=1e-12)
    assert fisher_combined([0.5, float("nan")]) == pytest.approx(0.5)
