"""Helpers shared by the objectives (not an objective: the registry skips `_` modules)."""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from . import Setting


def interval(lo: float, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False,
             default: float | None = None) -> Setting:
    """A real-number setting in [lo, hi] (ends open as asked; hi None = unbounded above)."""
    def check(x) -> bool:
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
            return False
        above = lo < x if lo_open else lo <= x
        below = hi is None or (x < hi if hi_open else x <= hi)
        return above and below
    if hi is None:
        expected = f"a number {'>' if lo_open else '>='} {lo}"
    else:
        expected = f"a number in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    return Setting(check, expected, default)


def num_classes(logits: torch.Tensor, name: str) -> int:
    if logits.dim() != 2 or logits.shape[-1] < 2:
        raise ValueError(f"objective {name!r} is for classification: logits must be (n, K) with K >= 2, "
                         f"got {tuple(logits.shape)}")
    return logits.shape[-1]


def one_hot(labels: torch.Tensor, k: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return F.one_hot(labels.long().view(-1), k).to(dtype)


def soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Soft-target cross-entropy, batch mean: -mean_i sum_k q'_ik log softmax(logits)_ik."""
    return -(target * F.log_softmax(logits, dim=-1)).sum(-1).mean()
