"""Averages of a run's own parameters over its optimizer steps, as flat fp32 vectors (Xu et al. 2020, Sec. 3).

A "step" is one optimizer update. ``StepWindow(k)`` keeps the parameters of the last ``k`` steps (O(k) flat copies,
reused as a ring) and their mean; ``StepWindow(None)`` keeps only the running mean of every step so far
(θ̄_t = θ̄_{t-1} + (θ_t - θ̄_{t-1}) / t: no copies). They serve SE (Eq. 4), the SDA teacher (Eq. 5-6) and the SDV
teacher's snapshots (Eq. 7), the minBERT reports' SWA and, as an exponential moving average (``ema_update``), the
mean teacher.
"""
from __future__ import annotations

from collections import deque

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters


def flat(model: torch.nn.Module) -> torch.Tensor:
    """The model's parameters as one detached fp32 vector (buffers such as position ids are constants)."""
    return parameters_to_vector([p.detach().float() for p in model.parameters()])


def load_flat(model: torch.nn.Module, vector: torch.Tensor) -> torch.nn.Module:
    """Copy a flat vector into the model's parameters (in place); returns the model."""
    with torch.no_grad():
        vector_to_parameters(vector.to(next(model.parameters()).dtype), model.parameters())
    return model


class StepWindow:
    """The parameters of the last ``k`` pushed steps (``k`` None: every step pushed so far, as a running mean)."""

    def __init__(self, k: int | None):
        if k is not None and k < 1:
            raise ValueError(f"a step window needs k >= 1 steps or None (all steps), got {k}")
        self.k, self.count = k, 0
        self.snapshots: deque[torch.Tensor] = deque()
        self.running: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.snapshots) if self.k is not None else min(self.count, 1)

    def push(self, vector: torch.Tensor) -> None:
        self.count += 1
        if self.k is None:
            if self.running is None:
                self.running = vector.clone()
            else:
                self.running.add_(vector - self.running, alpha=1.0 / self.count)
            return
        if len(self.snapshots) == self.k:  # reuse the oldest copy's memory for the newest
            oldest = self.snapshots.popleft()
            self.snapshots.append(oldest.copy_(vector))
        else:
            self.snapshots.append(vector.clone())

    def mean(self) -> torch.Tensor:
        """The mean of the window's steps (summed oldest first: a window of one is that step exactly)."""
        if self.count == 0:
            raise ValueError("the step window is empty: push a step first")
        if self.k is None:
            return self.running
        total = self.snapshots[0].clone()
        for vector in list(self.snapshots)[1:]:
            total.add_(vector)
        return total.div_(len(self.snapshots)) if len(self.snapshots) > 1 else total


@torch.no_grad()
def ema_update(teacher: torch.nn.Module, student: torch.nn.Module, decay: float, step: int) -> None:
    """In place: θ' ← α θ' + (1 - α) θ over the parameters, α = min(1 - 1/(step + 1), decay)
    (CuriousAI mean-teacher main.py:189-193, ``update_ema_variables``).

    ``step`` is CuriousAI's ``global_step`` after its increment: the number of optimizer updates so far, this one
    included, so the teacher is the true mean of θ_0..θ_step until α reaches ``decay``; step 0 copies the student.
    Buffers (position ids) are copied from the student, not averaged: CuriousAI leaves them alone (#9).
    Parameters are matched by name, not by position, so a frozen or reordered subset cannot misalign them.
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must be in [0, 1], got {decay}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    alpha = min(1.0 - 1.0 / (step + 1), decay)
    for kind, ours, theirs in (("parameters", teacher.named_parameters(), student.named_parameters()),
                               ("buffers", teacher.named_buffers(), student.named_buffers())):
        ours, theirs = dict(ours), dict(theirs)
        if ours.keys() != theirs.keys():
            raise ValueError(f"teacher and student {kind} differ: {sorted(ours.keys() ^ theirs.keys())[:5]}")
        for name, t in ours.items():
            s = theirs[name].to(t)
            if kind == "buffers" or not t.is_floating_point():
                t.copy_(s)
            else:
                t.lerp_(s, 1.0 - alpha)  # = α θ' + (1 - α) θ; weight 1 returns θ exactly (step 0, decay 0)
