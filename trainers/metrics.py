"""Task metrics (Table 3): accuracy, F1 of the positive class (MRPC), Spearman (STS-B), Matthews (CoLA); and
Pearson (the CS224N minBERT STS task, as the course scores it)."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


def accuracy(preds, labels) -> float:
    return float(np.mean(np.asarray(preds) == np.asarray(labels)))


def _confusion(preds, labels):
    p, y = np.asarray(preds).astype(int), np.asarray(labels).astype(int)
    tp = int(np.sum((p == 1) & (y == 1)))
    tn = int(np.sum((p == 0) & (y == 0)))
    fp = int(np.sum((p == 1) & (y == 0)))
    fn = int(np.sum((p == 0) & (y == 1)))
    return tp, tn, fp, fn


def f1(preds, labels) -> float:
    tp, _, fp, fn = _confusion(preds, labels)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def mcc(preds, labels) -> float:
    """Matthews correlation; 0 when a row or column of the confusion matrix is empty (constant predictions)."""
    tp, tn, fp, fn = _confusion(preds, labels)
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if denom == 0 else (tp * tn - fp * fn) / denom


def spearman(preds, labels) -> float:
    """Spearman correlation; 0 for constant predictions (a degenerate run carries no ranking)."""
    p = np.asarray(preds, dtype=float)
    if np.all(p == p[0]):
        return 0.0
    return float(stats.spearmanr(p, np.asarray(labels, dtype=float)).statistic)


def pearson(preds, labels) -> float:
    """Pearson correlation (the CS224N course's STS score, ``np.corrcoef``); 0 for constant predictions."""
    p = np.asarray(preds, dtype=float)
    if np.all(p == p[0]):
        return 0.0
    return float(np.corrcoef(p, np.asarray(labels, dtype=float))[0, 1])


METRICS = {"accuracy": accuracy, "f1": f1, "mcc": mcc, "spearman": spearman, "pearson": pearson}


def score(metric: str, outputs: np.ndarray, labels) -> float:
    """Score raw model outputs: argmax for classifiers (outputs of shape [n, k]), values for regression."""
    outputs = np.asarray(outputs)
    preds = outputs.reshape(-1) if outputs.ndim == 1 or outputs.shape[1] == 1 else outputs.argmax(axis=1)
    return METRICS[metric](preds, labels)


def majority_baseline(metric: str, labels, regression: bool) -> float:
    """Score of predicting the most frequent class for every example (a constant for regression)."""
    y = np.asarray(labels, dtype=float)
    if regression:
        return score(metric, np.full(len(y), y.mean()), y)
    values, counts = np.unique(y.astype(int), return_counts=True)
    outputs = np.zeros((len(y), int(values.max()) + 1))
    outputs[:, values[np.argmax(counts)]] = 1.0
    return score(metric, outputs, y)
