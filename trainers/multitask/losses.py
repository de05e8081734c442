"""Loss terms of the minBERT multitask trainer (study notes `selfdistill-minbert.md`, parts B, C and E).

Pure functions: the mean-teacher consistency and its ramp-up (Qin & Tran 2023, after CuriousAI's mean-teacher;
the EMA teacher itself is trainers.callbacks.MeanTeacher), and Venkateswaran 2024's SimCSE,
multiple-negatives-ranking and SMART terms; trainers.multitask.terms adds them to a step. The per-task main losses
(CE, KD from an ensemble) are the objectives' (trainers.objectives.ce, .kd). Task outputs come in three kinds:
"classes" (logits (B, K)), "binary" (one logit per row, (B,) or (B, 1), read as the two-class distribution
[1 - σ, σ]) and "regression" (one value per row). Divergences are computed in float32 whatever the inputs' dtype,
on the inputs' device.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

TASK_KINDS = ("classes", "binary", "regression")
CONSISTENCY_KINDS = ("mse", "kl")


def one_per_row(x: torch.Tensor, what: str) -> torch.Tensor:
    if x.dim() == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 1:
        raise ValueError(f"{what} needs one output per row, shape (B,) or (B, 1), got {tuple(x.shape)}")
    return x


def _log_probs(outputs: torch.Tensor, task_kind: str) -> torch.Tensor:
    """(B, K) fp32 log-probabilities of "classes" logits, or of the two-class [1 - σ, σ] of "binary" logits."""
    x = outputs.float()
    if task_kind == "classes":
        if x.dim() != 2:
            raise ValueError(f"'classes' outputs must be logits (B, K), got {tuple(x.shape)}")
        return F.log_softmax(x, dim=-1)
    if task_kind == "binary":
        x = one_per_row(x, "'binary'")
        return torch.stack([F.logsigmoid(-x), F.logsigmoid(x)], dim=-1)  # log(1 - σ(x)) = log σ(-x): no cancellation
    raise ValueError(f"task_kind must be one of {TASK_KINDS}, got {task_kind!r}")


def _kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(P‖Q) summed over classes and rows."""
    return (log_p.exp() * (log_p - log_q)).sum()


def _regression_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return one_per_row(a, "'regression'").float(), one_per_row(b, "'regression'").float()


def consistency(student: torch.Tensor, teacher: torch.Tensor, kind: str, task_kind: str) -> torch.Tensor:
    """Mean-teacher consistency between student outputs and the (detached) teacher's.

    kind "mse": CuriousAI mean-teacher ``softmax_mse_loss`` / B (losses.py; main.py divides by the batch), i.e.
    Σ (softmax(s) - softmax(t))² / K / B, with K = 2 for "binary"; for "regression" the plain mean of (s - t)².
    kind "kl": the symmetric KL(P‖Q) + KL(Q‖P) of Qin & Tran (Sec. 3), P = teacher, Q = student, batchmean.
    Regression outputs have no distribution, so they take "mse" only. No gradient reaches the teacher.
    """
    if kind not in CONSISTENCY_KINDS:
        raise ValueError(f"consistency kind must be one of {CONSISTENCY_KINDS}, got {kind!r}")
    if task_kind not in TASK_KINDS:
        raise ValueError(f"task_kind must be one of {TASK_KINDS}, got {task_kind!r}")
    if student.shape != teacher.shape:
        raise ValueError(f"student {tuple(student.shape)} and teacher {tuple(teacher.shape)} outputs differ in shape")
    teacher = teacher.detach()
    if task_kind == "regression":
        if kind != "mse":
            raise ValueError(f"regression consistency has valid kinds ('mse',) only, got {kind!r}")
        s, t = _regression_pair(student, teacher)
        return F.mse_loss(s, t)
    log_q, log_p = _log_probs(student, task_kind), _log_probs(teacher, task_kind)
    if kind == "mse":
        return (log_q.exp() - log_p.exp()).pow(2).mean()  # mean over B x K = Σ / K / B
    return (_kl(log_p, log_q) + _kl(log_q, log_p)) / log_q.shape[0]


def rampup_weight(progress: float, weight: float, rampup: float) -> float:
    """CuriousAI mean-teacher sigmoid ramp-up (ramps.sigmoid_rampup, main.py:399-401):
    weight · exp(-5 (1 - clip(progress, 0, rampup) / rampup)²); ``progress`` and ``rampup`` share one unit
    (CuriousAI: fractional epochs). rampup == 0 gives ``weight`` from the start."""
    if rampup < 0:
        raise ValueError(f"rampup must be >= 0, got {rampup}")
    if rampup == 0:
        return float(weight)
    phase = 1.0 - min(max(float(progress), 0.0), float(rampup)) / rampup
    return float(weight * math.exp(-5.0 * phase * phase))


def _in_batch_ce(a: torch.Tensor, b: torch.Tensor, scale: float) -> torch.Tensor:
    """Per-row CE of scale · cos(a_i, b_j) against the diagonal (row i's positive is b_i), fp32, shape (B,)."""
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"in-batch contrastive losses need two (B, D) tensors, got {tuple(a.shape)}, {tuple(b.shape)}")
    sim = F.normalize(a.float(), dim=-1) @ F.normalize(b.float(), dim=-1).T * scale
    return F.cross_entropy(sim, torch.arange(a.shape[0], device=a.device), reduction="none")


def simcse_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCSE in-batch InfoNCE (Gao et al. 2021; princeton-nlp/SimCSE models.py:35-46, 194-212): sim_ij =
    cos(z1_i, z2_j) / τ, loss = mean CE(sim, arange(B)). SimCSE uses τ = 0.05; report B's code used a raw dot
    product instead (not reproduced here)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return _in_batch_ce(z1, z2, 1.0 / temperature).mean()


def mnr_loss(a: torch.Tensor, b: torch.Tensor, scale: float = 20.0,
             weights: torch.Tensor | None = None) -> torch.Tensor:
    """Multiple negatives ranking loss (Henderson et al. 2017; sentence-transformers MultipleNegativesRankingLoss,
    scale 20 on cos_sim): ℓ_i = CE(scale · cos(a_i, b_j), i); mean over rows, or Σ w_i ℓ_i / Σ w_i with per-row
    weights (B,). The weighted mean drops the weights' overall scale: report B's code (w = [l >= 1] e^l / C,
    C = Σ_{j=1..4} e^j) divides Σ w_i ℓ_i by the count of rows with l >= 1 instead, and scores a raw dot product of
    unnormalised embeddings (its normalised copies go unused): no cosine, no scale."""
    losses = _in_batch_ce(a, b, scale)
    if weights is None:
        return losses.mean()
    weights = weights.to(losses)
    if weights.shape != losses.shape:
        raise ValueError(f"weights must have shape {tuple(losses.shape)}, got {tuple(weights.shape)}")
    if not torch.isfinite(weights).all() or (weights < 0).any() or not weights.sum() > 0:
        raise ValueError("weights must be finite, >= 0 and not all zero")
    return (weights * losses).sum() / weights.sum()


def _smart_divergence(out: torch.Tensor, ref: torch.Tensor, task_kind: str, ascent: bool) -> torch.Tensor:
    if task_kind == "regression":
        o, r = _regression_pair(out, ref)
        return F.mse_loss(o, r, reduction="sum" if ascent else "mean")
    log_o, log_r = _log_probs(out, task_kind), _log_probs(ref, task_kind)
    if ascent:  # ref is detached already; summed over rows as mt-dnn's ascent loss is
        return _kl(log_o, log_r) + _kl(log_r, log_o)
    # mt-dnn SymKlCriterion: each direction stops the gradient at its target distribution, batchmean
    return (_kl(log_o.detach(), log_r) + _kl(log_r.detach(), log_o)) / log_o.shape[0]


def smart_loss(forward: Callable[[torch.Tensor], torch.Tensor], embeddings: torch.Tensor,
               clean_outputs: torch.Tensor, task_kind: str, sigma: float = 1e-5, eta: float = 1e-3,
               eps: float = 1e-6, generator: torch.Generator | None = None) -> torch.Tensor:
    """SMART's smoothness-inducing adversarial regulariser, one ascent step (k = 1), as namisan/mt-dnn @3228e7c
    ``mt_dnn/perturbation.py`` does it (report B copied that file; the defaults are its σ, η, ε).

    ``forward`` maps (B, L, H) input embeddings x to outputs. δ₀ = σ · randn(x.shape, generator) (fp32, then x's
    dtype); ℓ = D(forward(x + δ₀), clean.detach()), summed over rows as mt-dnn's ascent losses are; g = ∂ℓ/∂δ;
    δ = (δ₀ + η g) / (‖δ₀ + η g‖_∞ per token, over the hidden dim, + ε), detached. That is a per-token rescaling,
    not a projection onto an ε-ball: ‖δ‖_∞ = m / (m + ε) for the unscaled norm m (≈ 0.97 at σ = 1e-5, H = 384),
    and as g ∝ σ the defaults leave δ close to the rescaled noise. Padding is perturbed too (mt-dnn passes no mask).

    Returns D(forward(x + δ), clean), batchmean: symmetric KL for "classes" and "binary", MSE for "regression".
    As in mt-dnn (``adv_lc(logits, adv_logits)``) the clean outputs are not detached, so the gradient reaches the
    parameters through both passes and x through x + δ; SymKlCriterion's stop-gradients give each side A the
    gradient of KL(sg(other)‖A) only (the value is the full symmetric KL). A non-finite g gives 0, as in mt-dnn.
    Report B's adaptation (@3af49e2) differs: stable-KL (SST), BCE (para) and MSE (STS) ascent losses, and its
    pair tasks' final pass reuses the pre-ascent δ₀ (the split is taken before the update).
    """
    if task_kind not in TASK_KINDS:
        raise ValueError(f"task_kind must be one of {TASK_KINDS}, got {task_kind!r}")
    if embeddings.dim() != 3:
        raise ValueError(f"embeddings must be (B, L, H), got {tuple(embeddings.shape)}")
    noise_device = generator.device if generator is not None else embeddings.device
    delta = torch.randn(embeddings.shape, generator=generator, device=noise_device, dtype=torch.float32) * sigma
    delta = delta.to(embeddings).requires_grad_()
    # the ascent pass needs ∂ℓ/∂δ only: detached embeddings keep the embedding layer's graph out of it
    ascent = _smart_divergence(forward(embeddings.detach() + delta), clean_outputs.detach(), task_kind, ascent=True)
    grad = torch.autograd.grad(ascent, delta, allow_unused=True)[0] if ascent.requires_grad else None
    if grad is None:  # outputs that do not depend on the input: no ascent direction
        grad = torch.zeros_like(delta)
    if not torch.isfinite(grad).all():
        return torch.zeros((), device=clean_outputs.device)
    step = delta.detach() + eta * grad
    delta = (step / (step.abs().amax(dim=-1, keepdim=True) + eps)).detach()
    return _smart_divergence(forward(embeddings + delta), clean_outputs, task_kind, ascent=False)
