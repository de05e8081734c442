"""Optimizers: BERTAdam (no bias correction) and debiased AdamW (Zhang et al. 2021, Sec. 4, Algorithm 1)."""
from __future__ import annotations

import torch
from torch.optim import Optimizer

OPTIMIZERS = ("adamw", "bertadam")


class BertAdam(Optimizer):
    """Adam without lines 9-10 of Algorithm 1: the biased moments m_t, v_t are used directly in line 11.

    Weight decay is decoupled as in BERT's AdamWeightDecayOptimizer: update = m/(sqrt(v)+eps) + wd * p.
    transformers no longer ships an optimizer with a ``correct_bias`` switch, hence this class.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.0):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"invalid BertAdam hyperparameters lr={lr} betas={betas} eps={eps}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(p.grad, alpha=1 - beta1)  # line 7
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)  # line 8
                update = m / (v.sqrt() + group["eps"])  # line 11 on the biased estimates
                if group["weight_decay"]:
                    update.add_(p, alpha=group["weight_decay"])
                p.add_(update, alpha=-group["lr"])
        return loss


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Biases and LayerNorm weights are not decayed (BERT's convention)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: torch.nn.Module, name: str, lr: float, weight_decay: float = 0.0,
                    eps: float = 1e-6, betas=(0.9, 0.999)) -> Optimizer:
    groups = parameter_groups(model, weight_decay)
    if name == "bertadam":
        return BertAdam(groups, lr=lr, betas=betas, eps=eps)
    if name == "adamw":  # debiased Adam: the PyTorch AdamW the paper uses (footnote 9)
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps)
    raise ValueError(f"unknown optimizer {name!r} (valid: {', '.join(OPTIMIZERS)})")
