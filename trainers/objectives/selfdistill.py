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


def _parts(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor) -> tuple:
    num_classes(logits, "sd")
    if teacher_logits is None or teacher_logits.shape != logits.shape:
        raise ValueError(f"objective 'sd' needs the self-teacher's logits shaped like the student's "
                         f"{tuple(logits.shape)}, got {None if teacher_logits is None else tuple(teacher_logits.shape)}")
    return F.cross_entropy(logits, labels), F.mse_loss(logits, teacher_logits.detach().to(logits.dtype))


def sd_loss(logits, labels, args, teacher_logits):
    ce, mse = _parts(logits, labels, teacher_logits)
    return ce + args["lambda"] * mse


def sd_parts(logits, labels, args, teacher_logits) -> dict:
    ce, mse = _parts(logits.detach(), labels, teacher_logits)
    return {"ce": ce, "mse": mse}


OBJECTIVE = Objective("sd", "self-distillation: CE + lambda MSE to the run's own SDA/SDV teacher (Xu et al. Eq. 6)",
                      {"lambda": interval(0, default=1.0)}, True, sd_loss, None, sd_parts)
