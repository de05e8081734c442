"""Statistics: expected maximum (Dodge et al.), bootstrap selection, Table 1's t-test rule."""

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
