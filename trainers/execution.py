"""What the single-task loop (trainers.loop) and the multitask run (trainers.multitask.train) share about how a
model runs: the evaluation batch, mixed-precision autocast (and which precision ``auto`` means on this machine),
and the digest that ties a teacher's logits to the training examples they were computed on. Below both, so neither
imports the other for it."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os

import numpy as np
import torch

from trainers.config import PRECISIONS

EVAL_BATCH = 64
AUTO = "auto"  # a profile's `precision: auto`: resolved by the machine that plans the study (auto_precision)
PROFILE_PRECISIONS = (*PRECISIONS, AUTO)
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs with bf16 matrix units
OVERRIDES = ("fp32", "bf16")  # what SUITE_PRECISION may set `auto` to


def autocast(precision: str, dev: torch.device):
    """fp32: no autocast. fp16 (the paper's Apex O1 on GPUs) needs CUDA; bf16 runs anywhere (slowly on CPUs
    without bf16 units: bf16_units)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (valid: {', '.join(PRECISIONS)})")
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and dev.type != "cuda":
        raise ValueError("fp16 mixed precision needs a CUDA GPU (use bf16 or fp32 on CPU)")
    return torch.autocast(dev.type, dtype=torch.float16 if precision == "fp16" else torch.bfloat16)


def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return fh.read()
    except OSError:  # not Linux: no flags to read, so no bf16 units assumed
        return ""


def bf16_units(cpuinfo: str | None = None) -> bool:
    """Whether this CPU has bf16 matrix units (/proc/cpuinfo flags amx_bf16 or avx512_bf16). Why it decides the
    precision: an AMD EPYC without them ran bf16 autocast 16x slower than fp32, while an Intel Xeon with AMX ran a
    signal-profile MiniLM-L6 training step 1.7x faster in bf16 autocast on RTE and MRPC, 1.9x with eager attention
    (cpu_bf16_attention), 1.25x on CoLA's short sentences (docs/benchmarks.md, "CPU levers at the signal profile")."""
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[-1].split()}
    return any(flag in flags for flag in BF16_FLAGS)


@functools.lru_cache(maxsize=1)
def machine_precision() -> str:
    """What `auto` means on this machine: on CUDA bf16 where the GPU supports it, else fp32; on a CPU bf16 where
    it has bf16 matrix units (bf16_units), else fp32. Cached: the hardware does not change within a process."""
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if bf16_units() else "fp32"


def auto_precision() -> str:
    """`precision: auto` resolved: SUITE_PRECISION (fp32 or bf16) when set, e.g. to plan the trial ids another
    machine ran, else machine_precision()."""
    override = os.environ.get("SUITE_PRECISION", "").strip()
    if override and override not in OVERRIDES:
        raise ValueError(f"SUITE_PRECISION: unknown precision {override!r} (valid: {', '.join(OVERRIDES)})")
    return override or machine_precision()


def resolve_precision(precision: str) -> str:
    """A profile's precision as a trial's: `auto` resolved here (auto_precision), the others as they are. The
    result is the trial's TrainConfig.precision, so it is part of the trial id: a bf16 trial is not an fp32 one."""
    return auto_precision() if precision == AUTO else precision


def cpu_bf16_attention(model: torch.nn.Module, precision: str, dev: torch.device) -> bool:
    """bf16 on a CPU: the model's attention in eager form (bf16 matrix products, fp32 softmax) in place of
    scaled_dot_product_attention, whose bf16 backward on CPUs (the flash kernel for CPU, which it picks for batches
    without padding, e.g. RTE's many 128-token pairs) took 34 ms a call against 7 ms in fp32: on the Intel Xeon of
    docs/benchmarks.md eager attention took a signal-profile RTE step from 1.66x to 1.92x fp32's speed.
    SUITE_CPU_EAGER_ATTENTION=0 keeps sdpa. Returns whether it switched; how a trial computes, not what (recorded in
    provenance.json's execution, not in the trial id; bf16 trials on CPUs were never run before it)."""
    if precision != "bf16" or dev.type != "cpu" or os.environ.get("SUITE_CPU_EAGER_ATTENTION", "1") == "0":
        return False
    switched = False
    for module in model.modules():  # the classifier itself, or a multitask model's encoder
        if hasattr(module, "set_attn_implementation") and getattr(module, "config", None) is not None:
            if getattr(module.config, "_attn_implementation", None) != "eager":
                module.set_attn_implementation("eager")
            switched = True
    return switched


def labels_digest(labels) -> str:
    """Identifies a training split by its labels in order: a teacher's logits must be for the same examples."""
    return hashlib.sha256(np.asarray(labels, dtype=np.float64).tobytes()).hexdigest()[:16]
