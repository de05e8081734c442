"""Optimizers: BERTAdam (no bias correction) and debiased AdamW (Zhang et al. 2021, Sec. 4, Algorithm 1)."""
from __future__ import annotations

import torch
from torch.optim import Optimizer

from trainers.layers import blocks, embeddings, task_head

OPTIMIZERS = ("adamw", "bertadam")

# beta ** step underflows to exactly 0 here, so both bias terms (1 - beta ** step) of Algorithm 1 are exactly 1.
PINNED_STEP = 1e30


class BertAdam(torch.optim.AdamW):
    """Adam without lines 9-10 of Algorithm 1: the biased moments m_t, v_t are used directly in line 11.

    Implemented as torch's AdamW (fused kernel: ~10x faster on CPU than a Python loop) whose step counter is
    pinned where the bias corrections equal 1, which is exactly BERTAdam. Weight decay is decoupled, as in
    BERT's AdamWeightDecayOptimizer (p -= lr * wd * p). transformers no longer ships a ``correct_bias`` switch.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.0,
                 fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, fused=fused)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                if p.grad is not None and not state:
                    # Where AdamW keeps its step: float32 beside the parameter for fused/capturable, else on CPU.
                    on_device = group["fused"] or group["capturable"]
                    state["step"] = torch.tensor(PINNED_STEP, device=p.device if on_device else "cpu",
                                                 dtype=torch.float32 if on_device else torch.get_default_dtype())
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return super().step(closure)


def _decays(name: str, p: torch.Tensor) -> bool:
    """Biases and LayerNorm weights are not decayed (BERT's convention)."""
    return p.ndim >= 2 and "LayerNorm" not in name and "layer_norm" not in name


def layer_rates(model: torch.nn.Module, llrd: float | None) -> dict[int, float]:
    """{id(param): lr multiplier}. Layer-wise LR decay (Sec. 7.1, as in the official code): head and pooler at
    the base rate, then each block from the top down and finally the embeddings at the previous rate x llrd."""
    if llrd is None:
        return {}
    stack = [[block] for block in reversed(blocks(model))] + [embeddings(model)]
    rates = {}
    for depth, modules in enumerate(stack, start=1):
        for module in modules:
            for p in module.parameters():
                rates.setdefault(id(p), llrd ** depth)
    return rates


def parameter_groups(model: torch.nn.Module, weight_decay: float, lr: float, llrd: float | None = None,
                     head_lr: float | None = None) -> list[dict]:
    """One group per (lr multiplier, decays?) pair, so LLRD and weight decay compose. ``head_lr``: the new task
    head's own rate (Xu et al. Sec. 4.2: 1e-3 for the softmax layer, 2e-5 for BERT)."""
    rates = layer_rates(model, llrd)
    if head_lr is not None:
        rates.update({id(p): head_lr / lr for m in task_head(model) for p in m.parameters()})
    groups: dict[tuple[float, bool], dict] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        scale, decays = rates.get(id(p), 1.0), _decays(name, p)
        group = groups.setdefault((scale, decays), {"params": [], "names": [], "lr": lr * scale,
                                                    "weight_decay": weight_decay if decays else 0.0})
        group["params"].append(p)
        group["names"].append(name)
    return list(groups.values())


def build_optimizer(model: torch.nn.Module, name: str, lr: float, weight_decay: float = 0.0,
                    eps: float = 1e-6, betas=(0.9, 0.999), llrd: float | None = None,
                    head_lr: float | None = None) -> Optimizer:
    """``adamw`` is the debiased Adam the paper uses (PyTorch AdamW, footnote 9); ``bertadam`` omits the
    bias correction. Both run on torch's fused kernel."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r} (valid: {', '.join(OPTIMIZERS)})")
    groups = parameter_groups(model, weight_decay, lr, llrd, head_lr)
    cls = BertAdam if name == "bertadam" else torch.optim.AdamW
    return cls(groups, lr=lr, betas=betas, eps=eps, fused=_fusable(groups))


class PretrainedWeightDecay:
    """Pre-trained weight decay (Sec. 7.1): each step pulls w toward its start-of-fine-tuning value W,
    w -= lr * lambda * (w - W), in the decayed groups (no biases, no LayerNorm) and never in the new task head.
    Called just before the optimizer step with each group's scheduled lr, as in the official code."""

    def __init__(self, optimizer: Optimizer, model: torch.nn.Module, strength: float):
        head = {id(p) for m in task_head(model) for p in m.parameters()}
        self.strength = strength
        self.groups = []
        for group in optimizer.param_groups:
            params = [p for p, n in zip(group["params"], group["names"]) if _decays(n, p) and id(p) not in head]
            if params:
                self.groups.append((group, params, [p.detach().clone() for p in params]))

    @torch.no_grad()
    def apply(self) -> None:
        for group, params, anchors in self.groups:
            # w + t (W - w) with t = lr * lambda: the pull in place, no temporary per step
            torch._foreach_lerp_(params, anchors, group["lr"] * self.strength)
def _fusable(groups) -> bool:
    params = [p for g in groups for p in g["params"]]
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
