"""Knowledge distillation (Kobyzev et al. Eq. 1): (1 - alpha) CE(q, p) + alpha T^2 KL(softmax(t/T) || softmax(s/T)).

The KL is batchmean (true KL per example, batch mean). T^2 is Hinton et al.'s gradient rescaling; the
paper's Eq. 1 writes none, and at T = 1 (its GLUE setting) the two agree. At T = 1 this is CE on
q' = (1 - alpha) q + alpha softmax(t) (Eq. 2) up to the teacher's entropy, a constant: same gradient.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Objective
from ._common import interval, num_classes, one_hot


def kd_loss(logits: torch.Tensor, labels: torch.Tensor, args: dict, teacher_logits: torch.Tensor) -> torch.Tensor:
    num_classes(logits, "kd/selfkd")
    if teacher_logits.shape != logits.shape:
        raise ValueError(f"teacher_logits must match the student's logits {tuple(logits.shape)}, "
                         f"got {tuple(teacher_logits.shape)}")
    alpha, t = args["alpha"], args["temperature"]
    ce = F.cross_entropy(logits, labels)
    log_p = F.log_softmax(logits / t, dim=-1)
    teacher = F.softmax(teacher_logits.detach().to(log_p.dtype) / t, dim=-1)
    kl = F.kl_div(log_p, teacher, reduction="batchmean") * (t * t)
    return (1 - alpha) * ce + alpha * kl


def kd_target(labels: torch.Tensor, num_classes: int, args: dict, teacher_probs: torch.Tensor) -> torch.Tensor:
    """Eq. 2: (1 - alpha) q + alpha p^t, p^t = the teacher's softmax (exact for the gradient at T = 1)."""
    if teacher_probs is None:
        raise ValueError("this objective's target needs teacher_probs (n, K), got None")
    alpha = args["alpha"]
    return (1 - alpha) * one_hot(labels, num_classes, teacher_probs.dtype) + alpha * teacher_probs


SETTINGS = {"alpha": interval(0, 1), "temperature": interval(0, lo_open=True, default=1.0)}

OBJECTIVE = Objective("kd", "knowledge distillation with T^2 (Kobyzev et al. Eq. 1-2)",
                      SETTINGS, True, kd_loss, kd_target)
