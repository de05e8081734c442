"""Selection by mean validation (Sec. 5-7) and the claim tests: exact choices and p-values on fixed data."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import claims
from pipelines.selection import choose


def _frame(rows):
    out = []
    for i, (task, arm, settings, val) in enumerate(rows):
        values = tuple(settings.items())
        out.append({"trial_id": str(i), "task": task, "raw_task": task, "arm": arm, "settings": values,
                    "best_val": val, "finished": not np.isnan(val)})
    return pd.DataFrame(out)


def test_choose_takes_the_best_mean_validation_and_keeps_none():
    frame = _frame([("RTE", "std", {"max_steps": None}, 0.70), ("RTE", "std", {"max_steps": None}, 0.60),
                    ("RTE", "std", {"max_steps": 96}, 0.64), ("RTE", "std", {"max_steps": 96}, 0.64),
                    ("RTE", "std", {"max_steps": 144}, 0.66), ("RTE", "std", {"max_steps": 144}, 0.60)])
    pick = choose(frame, ["max_steps"]).iloc[0]
    assert pick["choice"] == {"max_steps": None}  # mean 0.65 beats 0.64 and 0.63; None survives pandas
    assert pick["mean_val"] == pytest.approx(0.65) and pick["n"] == 2 and pick["covered"]


def test_choose_ties_go_to_the_first_point_and_kept_keys_split_groups():
    frame = _frame([("RTE", "r", {"recipe": "a", "reinit": 1}, 0.5), ("RTE", "r", {"recipe": "a", "reinit": 2}, 0.5),
                    ("RTE", "r", {"recipe": "b", "reinit": 1}, 0.4), ("RTE", "r", {"recipe": "b", "reinit": 2}, 0.6)])
    picks = choose(frame, ["reinit"])
    assert [(p["key"], p["choice"]) for _, p in picks.iterrows()] == [
        ({"recipe": "a"}, {"reinit": 1}), ({"recipe": "b"}, {"reinit": 2})]


def test_choice_is_not_final_until_every_point_has_a_run():
    frame = _frame([("RTE", "std", {"max_steps": 96}, 0.7), ("RTE", "std", {"max_steps": 144}, float("nan"))])
    assert not choose(frame, ["max_steps"]).iloc[0]["covered"]


def test_claim_tests_match_scipy_and_their_direction():
    low, high = np.array([70.0, 71, 72, 71, 70.5]), np.array([60.0, 75, 52, 73, 66])
    p = claims.variance_lower(low, high)
    assert p == pytest.approx(stats.levene(low, high, center="median").pvalue / 2)
    assert claims.variance_lower(high, low) == pytest.approx(1 - p)
    assert np.isnan(claims.variance_lower(low[:2], high[:2]))  # two runs: zero within-group spread, no test
    expected = stats.ttest_ind(low + 5, low, alternative="greater").pvalue
    assert claims.mean_higher(low + 5, low) == pytest.approx(expected)
    # Fisher exact, one-sided: 0/10 degenerate vs 5/10 -> p = C(10,0)C(10,5)/C(20,5) = 252/15504
    assert claims.fewer_events(0, 10, 5, 10) == pytest.approx(252 / 15504)
    assert claims.combine([0.5]) == 0.5 and np.isnan(claims.combine([float("nan")]))
    assert claims.combine([0.01, 0.02]) == pytest.approx(stats.combine_pvalues([0.01, 0.02]).pvalue)


def test_resampling_tests_are_seeded_and_point_the_right_way():
    worst_low = np.array([50.0, 70, 71, 72, 70])
    fine = np.array([69.0, 70, 71, 72, 70])
    assert claims.min_higher(fine, worst_low, seed=1) == claims.min_higher(fine, worst_low, seed=1)
    assert claims.min_higher(fine, worst_low, seed=1) < claims.min_higher(worst_low, fine, seed=1)
    base = np.array([60.0, 61, 62, 63, 64])
    narrowing = claims.gap_narrows(base + 10, base, base + 1, base, seed=3)
    widening = claims.gap_narrows(base + 1, base, base + 10, base, seed=3)
    assert narrowing < 0.01 < 0.99 < widening
