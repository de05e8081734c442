"""Batch schedules of the multitask trainer: which task's batch comes next, as rounds of (task, rows) batches.

An epoch is a list of rounds; a round is the batches whose losses one optimizer step may sum (``step: round``,
Qin & Tran's first balanced runs) or that each take their own step (``step: batch``, their "3 steps per round").

* ``sequential``: task after task, each task's examples once in a fresh order (Venkateswaran's "- even batching").
* ``rr_unbalanced``: round-robin, one batch per task per round, over each task's full data; the epoch ends when
  the largest task is exhausted and smaller tasks cycle through fresh permutations (Qin & Tran, row 5).
* ``rr_balanced``: round-robin over an equal sample of ``balanced`` examples per task, drawn afresh each epoch
  (Qin & Tran: 6,041 per task; a task smaller than the sample cycles) (rows 6-8).
* ``even``: every task's batches shuffled together, each example once per epoch (Venkateswaran Sec. 4: "even
  batching"; his code drew each batch with replacement: study notes part B).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trainers.multitask.settings import SAMPLERS


@dataclass(frozen=True)
class Batch:
    task: str
    rows: tuple[int, ...]


def _cycled(n: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` rows of a task with ``n`` examples: fresh permutations back to back (each row once per pass)."""
    return np.concatenate([rng.permutation(n) for _ in range(math.ceil(count / n))])[:count]


def _cut(task: str, rows: np.ndarray, batch_size: int) -> list[Batch]:
    return [Batch(task, tuple(int(r) for r in rows[i:i + batch_size])) for i in range(0, len(rows), batch_size)]


def _round_robin(per_task: dict[str, list[Batch]]) -> list[list[Batch]]:
    return [[b for b in (per_task[t][i] for t in per_task)] for i in range(len(next(iter(per_task.values()))))]


def epoch_rounds(sampler: str, sizes: dict[str, int], batch_size: int, rng: np.random.Generator,
                 balanced: int = 0) -> list[list[Batch]]:
    """One epoch's rounds. ``sizes``: training examples per task, in the order rounds visit them;
    ``balanced``: rr_balanced's sample per task (0: the smallest task's size)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} (valid: {', '.join(SAMPLERS)})")
    if sampler == "sequential":
        return [[b] for task, n in sizes.items() for b in _cut(task, rng.permutation(n), batch_size)]
    if sampler == "even":
        batches = [b for task, n in sizes.items() for b in _cut(task, rng.permutation(n), batch_size)]
        return [[batches[i]] for i in rng.permutation(len(batches))]
    count = examples_per_epoch(sampler, sizes, batch_size, balanced)
    return _round_robin({task: _cut(task, _cycled(sizes[task], count[task], rng), batch_size) for task in sizes})


def steps_per_epoch(sampler: str, sizes: dict[str, int], batch_size: int, step: str, balanced: int = 0) -> int:
    """Optimizer steps in one epoch, from the sizes alone (the learning-rate schedule and the plan's cost)."""
    if sampler in ("sequential", "even") or step == "batch":
        if sampler == "rr_unbalanced":
            return len(sizes) * max(math.ceil(n / batch_size) for n in sizes.values())
        if sampler == "rr_balanced":
            return len(sizes) * math.ceil((balanced or min(sizes.values())) / batch_size)
        return sum(math.ceil(n / batch_size) for n in sizes.values())
    if sampler == "rr_unbalanced":
        return max(math.ceil(n / batch_size) for n in sizes.values())
    return math.ceil((balanced or min(sizes.values())) / batch_size)


def examples_per_epoch(sampler: str, sizes: dict[str, int], batch_size: int, balanced: int = 0) -> dict[str, int]:
    """Training rows each task feeds one epoch (a cycled task more than its size): the plan's cost."""
    if sampler == "rr_unbalanced":
        rounds = max(math.ceil(n / batch_size) for n in sizes.values())
        return {t: rounds * batch_size if math.ceil(n / batch_size) < rounds else n for t, n in sizes.items()}
    if sampler == "rr_balanced":
        return dict.fromkeys(sizes, balanced or min(sizes.values()))
    return dict(sizes)
