"""Mixout (Lee et al. 2020; Zhang et al. 2021, Sec. 7.1 and Appendix H).

At each training forward pass every weight entry of a Linear layer is replaced by its value at the start of
fine-tuning (the pre-trained value; the fresh init for a new classifier) with probability p, and the mix is
rescaled so its expectation equals the current weight:
    W' = (M * W + (1 - M) * U - p * U) / (1 - p),  M ~ Bernoulli(1 - p).
Dropout is switched off, as in Lee et al.'s setup. At evaluation W' = W.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


class Mixout(nn.Module):
    def __init__(self, target: torch.Tensor, p: float):
        super().__init__()
        if not 0 < p < 1:
            raise ValueError(f"mixout probability must be in (0, 1), got {p}")
        self.p = p
        self.register_buffer("target", target.detach().clone())

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return weight
        keep = torch.empty_like(weight).bernoulli_(1 - self.p)  # the dropout stream (data seed) drives the masks
        return (keep * weight + (1 - keep) * self.target - self.p * self.target) / (1 - self.p)


def apply_mixout(model: nn.Module, p: float) -> int:
    """Wrap every Linear weight in Mixout toward its current value and set dropout to 0; returns the count."""
    if not p:
        return 0
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for module in linears:
        parametrize.register_parametrization(module, "weight", Mixout(module.weight, p))
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return len(linears)
