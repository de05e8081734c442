"""TF-reg as the Teacher-free KD repository codes it (yuanli2333/Teacher-free-Knowledge-Distillation,
`my_loss_function.py`, `loss_kd_regularization`; file last changed in 880a74ec, unchanged at HEAD d000ab37):

    loss = (1 - alpha) CE(q, p) + alpha * multiplier * nn.KLDivLoss()(log_softmax(z), softmax(p^d / T))

Differs from Kobyzev et al. Eq. 4-5 (`tfreg`) in three ways: softmax is applied to the *probabilities* p^d
(so at T=1, K=2, a=.95 the "teacher" p_code puts only softmax([.95, .05])[0] = .71 on gold); the KL uses
KLDivLoss's default 'mean' reduction, dividing by n*K (K times smaller than batchmean); the student logits
are not divided by T. The repo hard-codes correct_prob = 0.99.

Effective target. Per example, d/dz of the loss is (1/n)[(1-alpha)(p - q) + (alpha m/K)(p - p_code)]
= (c/n)(p - q*), with c = (1 - alpha) + alpha m/K and
    q* = [(1 - alpha) q + (alpha m/K) p_code] / c,
so the loss is c * soft-CE(q*) + const: CE on q* with the step size scaled by c (m = multiplier).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import Objective
from ._common import interval, num_classes, one_hot
from .tfreg import p_d

def code_teacher(labels: torch.Tensor, num_classes: int, correct_prob: float, temperature: float,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """p_code = softmax(p^d / T): the repo's softmax over Eq. 4's probabilities."""
    return F.softmax(p_d(labels, num_classes, correct_prob, dtype) / temperature, dim=1)


def loss(logits: torch.Tensor, labels: torch.Tensor, args: dict, teacher_logits=None) -> torch.Tensor:
    k = num_classes(logits, "tfreg_code")
    alpha = args["alpha"]
    ce = F.cross_entropy(logits, labels)
    teacher = code_teacher(labels, k, args["correct_prob"], args["temperature"], logits.dtype)
    log_p = F.log_softmax(logits, dim=1)
    # nn.KLDivLoss()'s default 'mean' (over n*K elements), written as sum / numel: F.kl_div warns on 'mean'
    kl = F.kl_div(log_p, teacher, reduction="sum") / log_p.numel() * args["multiplier"]
    return (1. - alpha) * ce + alpha * kl


def target(labels: torch.Tensor, num_classes: int, args: dict, teacher_probs=None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """q* = [(1 - alpha) q + (alpha m/K) p_code] / ((1 - alpha) + alpha m/K), the target the gradient pulls to."""
    alpha, w = args["alpha"], args["alpha"] * args["multiplier"] / num_classes
    p_code = code_teacher(labels, num_classes, args["correct_prob"], args["temperature"], dtype)
    return ((1 - alpha) * one_hot(labels, num_classes, dtype) + w * p_code) / ((1 - alpha) + w)


OBJECTIVE = Objective(
    "tfreg_code", "TF-reg as coded in the Tf-KD repo: KLDivLoss 'mean' to softmax(p^d/T) (cf. Kobyzev et al. Eq. 4-5)",
    {"alpha": interval(0, 1, hi_open=True),
     "correct_prob": interval(0, 1, lo_open=True, hi_open=True, default=0.99),
     "temperature": interval(0, lo_open=True, default=1.0),
     "multiplier": interval(0, lo_open=True, default=1.0)},
    False, loss, target)
