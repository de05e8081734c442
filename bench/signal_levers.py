"""Cheaper trials on CPUs, measured at the `signal` profile's settings (MiniLM-L6, all 6 blocks, length 128, batch
16, length-grouped batches, lr 5e-5, one thread per trial): each lever on and off, side by side in one run,
alternated so that drifts in the machine's load hit both.

- steps: seconds per training step, fp32 vs bf16 autocast (with the flash attention kernel, and with eager attention
  as the trainer runs bf16 on a CPU), on the same batches of real tasks, alternated step by step;
- evaluation: a validation pass at several evaluation batches in fp32 and in bf16;
- profiles: torch.profiler tables of a signal training step in fp32 and in bf16;
- trials: shortened signal trials through trainers.loop.train, today's code (fp32) and every lever on, seed by seed
  on two worker processes of one thread each (as the profile runs two trials at a time): the paired difference of
  the validation metric, the share of time in evaluation, a worker's first trial against its later ones, and trials
  per hour.

python -m bench --levers-only   (about 10 minutes on 2 idle cores, 17.5 at load 3-4; merged into docs/bench/cpu.json)
"""
from __future__ import annotations

import dataclasses
import functools
import os
import statistics
import time

STEP_TASKS = ("RTE", "MRPC", "CoLA")
EVAL_TASKS = ("RTE", "MRPC", "CoLA")
EVAL_BATCHES = (16, 32, 64)
SIGNAL_TASKS = ("RTE", "MRPC", "CoLA")  # the signal profile's tasks, equal trials and steps each
# The shortened trial: 1,000 MRPC examples (189 steps) left all-positive's validation F1 (0.834 vs 0.812, one bf16
# seed); at 512 six seeds of both arms stayed within 0.01 of it, their F1s identical seed by seed (2026-12-05).
TRIAL_TASK, TRIAL_EXAMPLES = "MRPC", 1000
MARGIN = 0.02  # "equal within seed noise": the 95% interval of the paired difference inside +-2 points


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@functools.lru_cache(maxsize=1)
def signal_profile():
    from pipelines.config import load
    return load().profile("signal", "revisiting")[1]


def signal_config(task: str, seed: int, precision: str = "fp32", train_examples: int | None = None):
    """The trial the signal profile plans for ``task`` (bias_correction's AdamW arm), at ``precision``."""
    from pipelines.plan import _train_config
    cfg = _train_config(signal_profile(), {}, task, {}, seed, seed)
    return dataclasses.replace(cfg, precision=precision, train_examples=train_examples or cfg.train_examples)


def levered_precision() -> str:
    """Every lever on: bf16 where this machine has bf16 units (or a bf16 GPU), else fp32 (precision: auto)."""
    from trainers.execution import auto_precision
    return auto_precision()


def _run(cfg, attention: bool = True):
    """A single-task run of ``cfg`` with its optimizer, as trainers.loop.train builds them (eager attention in bf16
    on a CPU unless ``attention`` is off)."""
    import torch

    from trainers.execution import cpu_bf16_attention
    from trainers.loop import SingleTaskRun
    from trainers.optim import build_optimizer
    dev = torch.device("cpu")
    run = SingleTaskRun(cfg, dev)
    if attention:
        cpu_bf16_attention(run.model, cfg.precision, dev)
    optimizer = build_optimizer(run.model, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.adam_epsilon)
    run.model.train()
    return run, optimizer, torch.amp.GradScaler("cpu", enabled=False)


def step_seconds(tasks=STEP_TASKS, steps: int = 16, warmup: int = 2) -> dict:
    """Seconds per training step of the trainer's own step (collate, forward-backward, clip, AdamW) in fp32, bf16
    autocast with scaled_dot_product_attention (the flash kernel for CPU) and bf16 with eager attention (what the
    trainer runs), on the same length-grouped batches of a signal trial, alternated step by step; medians over
    steps after ``warmup``, and the median of the per-step ratios to fp32 (each step's batch is the same for all).
    Without bf16 units (a slow bf16: 16x on an AMD EPYC), 3 steps."""
    import torch

    from trainers.execution import bf16_units
    from trainers.loop import optimizer_step
    if not (bf16_units() or torch.cuda.is_available()):
        steps, warmup = 3, 1
    variants = {"fp32": ("fp32", True), "bf16, sdpa attention": ("bf16", False), "bf16, eager attention": ("bf16", True)}
    rows, load = [], load_avg()
    for task in tasks:
        runs = {name: _run(signal_config(task, 1, precision), attention) for name, (precision, attention)
                in variants.items()}
        batches = {name: iter(run.epoch(0)) for name, (run, _, _) in runs.items()}
        seconds = {name: [] for name in runs}
        for _ in range(warmup + steps):
            for name, (run, optimizer, scaler) in runs.items():
                batch = next(batches[name])
                started = time.perf_counter()
                run.step(run.model, batch, scaler, None)
                optimizer_step(run.model, optimizer, scaler, run.cfg.max_grad_norm)
                seconds[name].append(time.perf_counter() - started)
        base = seconds["fp32"][warmup:]
        for name, values in seconds.items():
            kept = values[warmup:]
            rows.append({"task": task, "variant": name, "steps": len(kept), "median_s": statistics.median(kept),
                         "speedup": statistics.median(b / v for b, v in zip(base, kept))})
    return {"rows": rows, "load": [load, load_avg()]}


def eval_seconds(tasks=EVAL_TASKS, batches=EVAL_BATCHES) -> dict:
    """One validation pass (the whole validation half, as the signal profile evaluates) at each evaluation batch, in
    fp32 and in the levered precision (alternated); and the split sizes, for the cost of a signal trial's 4
    evaluations and 2 test passes."""
    from trainers import loop
    precision = levered_precision()
    rows, load = [], load_avg()
    for task in tasks:
        runs = {p: _run(signal_config(task, 1, p))[0] for p in dict.fromkeys(("fp32", precision))}
        for run in runs.values():  # the first pass of a model pays one-time costs
            loop.predict(run.model, run.splits["validation"], run.pad_id, run.regression, run.cfg.precision)
        for batch in batches:
            for p, run in runs.items():
                with _eval_batch(batch):
                    started = time.perf_counter()
                    loop.predict(run.model, run.splits["validation"], run.pad_id, run.regression, p)
                    rows.append({"task": task, "precision": p, "batch": batch, "seconds": time.perf_counter() - started,
                                 "validation": len(run.splits["validation"]), "test": len(run.splits["test"])})
    return {"rows": rows, "default_batch": loop.EVAL_BATCH, "load": [load, load_avg()]}


class _eval_batch:
    def __init__(self, size: int):
        self.size = size

    def __enter__(self):
        from trainers import loop
        self.kept, loop.EVAL_BATCH = loop.EVAL_BATCH, self.size

    def __exit__(self, *exc):
        from trainers import loop
        loop.EVAL_BATCH = self.kept


def step_profiles() -> dict:
    """torch.profiler tables of a signal training step (RTE), fp32 and the levered precision."""
    from bench.levers import cpu_step_profile
    profile = signal_profile()
    return {p: cpu_step_profile(profile, precision=p) for p in dict.fromkeys(("fp32", levered_precision()))}


_WORKER: dict = {}


def _worker_start(threads: int) -> None:
    _WORKER.update(started=time.perf_counter(), threads=threads, trials=0)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _worker_trial(job: tuple) -> dict:
    """One shortened signal trial in this worker process: its wall seconds (imports apart), the trainer's training
    and evaluation seconds, and its metrics."""
    arm, cfg_fields = job
    imports = 0.0
    if not _WORKER["trials"]:  # a worker's first trial imports the stack (a Ray worker's does too)
        started = time.perf_counter()
        import torch

        import trainers.loop  # noqa: F401
        torch.set_num_threads(_WORKER["threads"])
        imports = time.perf_counter() - started
    from pipelines.plan import eval_size
    from trainers.config import TrainConfig
    from trainers.loop import train
    cfg = TrainConfig(**cfg_fields)
    started = time.perf_counter()
    result = train(cfg)
    wall = time.perf_counter() - started
    m = result["metrics"]
    _WORKER["trials"] += 1
    val, test = eval_size(cfg)
    evaluations = len(result["curves"]["val_metric"])
    return {"arm": arm, "seed": cfg.init_seed, "precision": cfg.precision, "pid": os.getpid(),
            "order": _WORKER["trials"], "imports_s": imports, "wall_s": wall, "train_s": m["train_seconds"],
            "eval_s": m["eval_seconds"], "steps": m["steps"], "outcome": result["outcome"],
            "best_val": m["best_val"], "val_last": m["val_last"], "test_at_best_val": m["test_at_best_val"],
            "evaluated": evaluations * val + (1 if m["best_step"] == m["steps"] else 2) * test}


def paired_trials(seeds: int = 4, task: str = TRIAL_TASK, examples: int = TRIAL_EXAMPLES, workers: int = 2) -> dict:
    """``seeds`` shortened signal trials (``examples`` training examples; everything else the profile's) of today's
    code (fp32) and of every lever on, on ``workers`` fresh processes of one thread each, the two arms of a seed
    queued one after the other, in alternating order."""
    import multiprocessing
    on = levered_precision()
    jobs = []
    for seed in range(1, seeds + 1):
        pair = [("today", signal_config(task, seed, "fp32", examples)), ("levers", signal_config(task, seed, on,
                                                                                                examples))]
        jobs += [(arm, cfg.to_dict()) for arm, cfg in (pair if seed % 2 else pair[::-1])]
    load, started = load_avg(), time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers, _worker_start, (1,)) as pool:
        rows = pool.map(_worker_trial, jobs, chunksize=1)
    from trainers.tasks import get_task
    return {"task": task, "metric": get_task(task).metric, "train_examples": examples, "seeds": seeds,
            "workers": workers, "levers": on,
            "rows": rows, "wall_s": time.perf_counter() - started, "load": [load, load_avg()]}


def signal_trial_shape(tasks=SIGNAL_TASKS) -> dict:
    """A whole signal trial of each task as planned: its steps, evaluations and validation and test sizes."""
    from pipelines.plan import eval_size, train_size
    from trainers.config import eval_steps, total_steps
    out = {}
    for task in tasks:
        cfg = signal_config(task, 1)
        steps = total_steps(cfg, train_size(cfg))
        val, test = eval_size(cfg)
        out[task] = {"steps": steps, "evaluations": len(eval_steps(steps, cfg.evaluations)), "validation": val,
                     "test": test}
    return out


def measure(seeds: int = 4) -> dict:
    """Every section, with the machine's load average before and after each."""
    from trainers.execution import bf16_units
    out = {"date": time.strftime("%Y-%m-%d %H:%M"),
           "bf16_units": bf16_units(), "levered_precision": levered_precision()}
    started = time.perf_counter()
    print(f"  [a] step seconds, fp32 vs bf16 ({', '.join(STEP_TASKS)})", flush=True)
    out["steps"] = step_seconds()
    print("  [b] evaluation passes by batch and precision", flush=True)
    out["eval"] = eval_seconds()
    print("  [c] torch.profiler of a signal step", flush=True)
    out["profiles"] = step_profiles()
    print(f"  [d] {seeds} seeds x 2 shortened signal trials ({TRIAL_TASK}, {TRIAL_EXAMPLES} examples)", flush=True)
    out["trials"] = paired_trials(seeds)
    out["signal_trial"] = signal_trial_shape()
    out["seconds"] = time.perf_counter() - started
    out["uptime"] = _uptime()
    return out


def _uptime() -> str:
    import subprocess
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"load average: {', '.join(map(str, load_avg()))}"
