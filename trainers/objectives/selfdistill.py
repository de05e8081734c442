"""Self-distillation (Xu et al. 2020, Eq. 6): CE(ô, y) + λ · MSE(ô, õ), õ = the logits of the run's own teacher
(SDA: averaged weights, SDV: averaged logits of earlier steps; trainers.callbacks.SelfDistillTeacher).

The MSE is torch's mean over batch x classes (Eq. 6 does not say; a sum over classes would be λ x K): log λ with
that in mind. λ = 1 (Sec. 4.2, chosen on IMDb in Figure 3). The parts are logged as the curves train_ce and
train_mse (Figure 6).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Objective
from ._common import interval, num_classes


def sd_loss_parts(logits, labels, args, teacher_logits) -> tuple[torch.Tensor, dict]:
    """The loss and its two terms (detached, for the curves train_ce and train_mse)."""
    num_classes(logits, "sd")
    if teacher_logits is None or teacher_logits.shape != logits.shape:
        raise ValueError(f"objective 'sd' needs the self-teacher's logits shaped like the student's "
                         f"{tuple(logits.shape)}, got {None if teacher_logits is None else tuple(teacher_logits.shape)}")
    ce = F.cross_entropy(logits, labels)
    mse = F.mse_loss(logits, teacher_logits.detach().to(logits.dtype))
    return ce + args["lambda"] * mse, {"ce": ce.detach(), "mse": mse.detach()}


def sd_loss(logits, labels, args, teacher_logits):
    return sd_loss_parts(logits, labels, args, teacher_logits)[0]


OBJECTIVE = Objective("sd", "self-distillation: CE + lambda MSE to the run's own SDA/SDV teacher (Xu et al. Eq. 6)",
                      {"lambda": interval(0, default=1.0)}, True, sd_loss, None, sd_loss_parts)
