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


def test_table_1s_t_test_matches_scipy():
    low = np.array([70.0, 71, 72, 71, 70.5])
    expected = stats.ttest_ind(low + 5, low, alternative="greater").pvalue
    assert claims.mean_higher(low + 5, low) == pytest.approx(expected)
