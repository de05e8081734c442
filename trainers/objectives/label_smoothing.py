"""Label smoothing (Kobyzev et al. Eq. 3): CE on q' = (1 - alpha) q + alpha / K.

Gold gets 1 - alpha + alpha/K, as torch's `label_smoothing` and the HF Trainer's `label_smoothing_factor`
(not Tf-KD's `loss_label_smoothing`, which gives gold 1 - alpha and alpha/(K-1) elsewhere).
"""
from __future__ import annotations

import torch

from . import Objective
from ._common import interval, num_classes, one_hot, soft_ce


def target(labels: torch.Tensor, num_classes: int, args: dict, teacher_probs=None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    alpha = args["alpha"]
    return (1 - alpha) * one_hot(labels, num_classes, dtype) + alpha / num_classes


def loss(logits: torch.Tensor, labels: torch.Tensor, args: dict, teacher_logits=None) -> torch.Tensor:
    k = num_classes(logits, "ls")
    return soft_ce(logits, target(labels, k, args, dtype=logits.dtype))


OBJECTIVE = Objective("ls", "label smoothing (Kobyzev et al. Eq. 3)",
                      {"alpha": interval(0, 1, hi_open=True)}, False, loss, target)
