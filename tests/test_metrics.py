"""Metrics against values worked by hand."""
import math

import numpy as np
import pytest

from trainers.metrics import accuracy, f1, majority_baseline, mcc, score, spearman

PREDS, LABELS = [1, 0, 1, 1], [1, 0, 0, 1]  # tp=2 tn=1 fp=1 fn=0


def test_hand_computed_values():
    assert accuracy(PREDS, LABELS) == 0.75
    assert f1(PREDS, LABELS) == pytest.approx(2 * 2 / (2 * 2 + 1 + 0))
    assert mcc(PREDS, LABELS) == pytest.approx((2 * 1 - 1 * 0) / math.sqrt(3 * 2 * 1 * 2))
    # Spearman of ranks [1,2,3,4] vs [1,3,2,4]: 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_degenerate_predictions_score_zero():
    assert mcc([1, 1, 1, 1], LABELS) == 0.0
    assert spearman([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert f1([0, 0, 0, 0], LABELS) == 0.0


def test_score_takes_argmax_for_classifiers_and_values_for_regression():
    logits = np.array([[0.1, 0.9], [2.0, -1.0], [0.0, 0.5], [-3.0, 3.0]])
    assert score("accuracy", logits, LABELS) == 0.75
    assert score("spearman", np.array([[1.0], [2.0], [3.0], [4.0]]), [1, 3, 2, 4]) == pytest.approx(0.8)


def test_majority_baseline():
    assert majority_baseline("accuracy", [0, 1, 1, 1], False) == 0.75
    assert majority_baseline("f1", [0, 1, 1, 1], False) == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert majority_baseline("mcc", [0, 1, 1], False) == 0.0
    assert majority_baseline("spearman", [0.5, 1.0, 4.0], True) == 0.0
