"""TF-reg as Kobyzev et al. define it (Eq. 4-5): CE on q' = (1 - alpha) q + alpha p^d, where
p^d = a (`correct_prob`) on the gold class and (1 - a)/(K - 1) elsewhere.

Closed form: this is exactly label smoothing (Eq. 3) with alpha_eff = alpha K (1 - a)/(K - 1)
(K=2, alpha .5, a .95 -> .05). For the Tf-KD repository's code, see `tfreg_code`.
"""
from __future__ import annotations

import torch

from . import Objective
from ._common import interval, num_classes, one_hot, soft_ce


def p_d(labels: torch.Tensor, num_classes: int, correct_prob: float,
        dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Eq. 4: the label-dependent smoothing distribution, (n, K)."""
    q = one_hot(labels, num_classes, dtype)
    return q * correct_prob + (1 - q) * (1 - correct_prob) / (num_classes - 1)


def target(labels: torch.Tensor, num_classes: int, args: dict, teacher_probs=None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    alpha = args["alpha"]  # Eq. 5
    q = one_hot(labels, num_classes, dtype)
    return (1 - alpha) * q + alpha * p_d(labels, num_classes, args["correct_prob"], dtype)


def loss(logits: torch.Tensor, labels: torch.Tensor, args: dict, teacher_logits=None) -> torch.Tensor:
    k = num_classes(logits, "tfreg")
    return soft_ce(logits, target(labels, k, args, dtype=logits.dtype))


OBJECTIVE = Objective("tfreg", "teacher-free regularization, label-dependent smoothing (Kobyzev et al. Eq. 4-5)",
                      {"alpha": interval(0, 1, hi_open=True),
                       "correct_prob": interval(0, 1, lo_open=True, hi_open=True)},
                      False, loss, target)
