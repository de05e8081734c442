"""What the single-task loop (trainers.loop) and the multitask run (trainers.multitask.train) share about how a
model runs: the evaluation batch, mixed-precision autocast, and the digest that ties a teacher's logits to the
training examples they were computed on. Below both, so neither imports the other for it."""
from __future__ import annotations

import contextlib
import hashlib

import numpy as np
import torch

from trainers.config import PRECISIONS

EVAL_BATCH = 64


def autocast(precision: str, dev: torch.device):
    """fp32: no autocast. fp16 (the paper's Apex O1 on GPUs) needs CUDA; bf16 runs anywhere (slowly on CPUs
    without bf16 units)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (valid: {', '.join(PRECISIONS)})")
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and dev.type != "cuda":
        raise ValueError("fp16 mixed precision needs a CUDA GPU (use bf16 or fp32 on CPU)")
    return torch.autocast(dev.type, dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def labels_digest(labels) -> str:
    """Identifies a training split by its labels in order: a teacher's logits must be for the same examples."""
    return hashlib.sha256(np.asarray(labels, dtype=np.float64).tobytes()).hexdigest()[:16]
