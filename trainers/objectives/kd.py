"""Knowledge distillation (Kobyzev et al. Eq. 1): (1 - alpha) CE(q, p) + alpha T^2 KL(softmax(t/T) || softmax(s/T)).

The KL is batchmean (true KL per example, batch mean). T^2 is Hinton et al.'s gradient rescaling; the
paper's Eq. 1 writes none, and at T = 1 (its GLUE setting) the two agree. At T = 1 this is CE on
q' = (1 - alpha) q + alpha softmax(t) (Eq. 2) up to the teacher's entropy, a constant: same gradient.

On the multitask trainer the teacher is an ensemble's predictions in probability space (Venkateswaran's B4 and
his code's distill term, study notes `selfdistill-minbert.md` part B): (1 - alpha) task + alpha distill, the
author's 0.6 / 0.4; for SST the distill term is the soft CE to the teacher's probabilities, Eq. 1's KL at T = 1
plus the teacher's entropy (the same gradient). Probabilities have no temperature: T is 1 there.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from trainers.multitask.losses import one_per_row

from . import MultitaskForm, Objective, Setting
from ._common import interval, num_classes, one_hot
from .ce import label_loss


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


def distill_loss(part: str, student: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """A multitask head's distill term: soft cross-entropy against the teacher's class probabilities for SST,
    binary cross-entropy against its paraphrase probability, MSE against its STS score. ``student``: the head's raw
    outputs (an STS class head's (B, 6) logits are scored as their expected class first); ``target``: the teacher's
    predictions in probability space."""
    s, t = student.float(), target.float().detach()
    if part == "sst":
        return -(t * F.log_softmax(s, dim=-1)).sum(-1).mean()
    if part == "para":
        return F.binary_cross_entropy_with_logits(one_per_row(s, "'para'"), t)
    if part == "sts":
        if s.dim() == 2:  # class logits: their expected class is the score (trainers.multitask.model.sts_score)
            s = (s.softmax(-1) * torch.arange(s.shape[1], dtype=s.dtype, device=s.device)).sum(-1)
        return F.mse_loss(s, t)
    raise ValueError(f"part must be one of sst, para, sts, got {part!r}")


def multitask_kd_loss(part: str, outputs: torch.Tensor, labels: torch.Tensor, args: dict,
                      teacher: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """(1 - alpha) task + alpha distill, with the task's label loss and the distill term logged."""
    if teacher is None:
        raise ValueError("objective 'kd' on the multitask trainer needs the teacher's predictions, got None")
    task, distill = label_loss(part, outputs, labels), distill_loss(part, outputs, teacher)
    alpha = args["alpha"]
    return (1 - alpha) * task + alpha * distill, {part: task.detach(), "distill": distill.detach()}


SETTINGS = {"alpha": interval(0, 1), "temperature": interval(0, lo_open=True, default=1.0)}
MULTITASK_SETTINGS = {"alpha": SETTINGS["alpha"],
                      "temperature": Setting(interval(1, 1).check,
                                             "multitask KD reads the teacher's probabilities: 1 only", 1.0)}

OBJECTIVE = Objective("kd", "knowledge distillation with T^2 (Kobyzev et al. Eq. 1-2)",
                      SETTINGS, True, kd_loss, kd_target,
                      multitask=MultitaskForm(multitask_kd_loss, MULTITASK_SETTINGS))
