"""The shared training loop (Zhang et al. 2021, Sec. 3 setup): warm-up then linear decay, clipping, E evenly
spaced evaluations (the last at the end), the best-validation state kept in memory, and the test metric at the
best-validation point and at the last step. Separate seeds: init (head, Re-init) and data (order and dropout).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from trainers.glue import get_task, load_splits
from trainers.metrics import score
from trainers.model import build_model, tokenizer_for
from trainers.optim import PretrainedWeightDecay, build_optimizer
from trainers.param_distance import BlockDistance, measure_steps

EVAL_BATCH = 64


PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trial's numbers; its fingerprint is the trial id."""
    task: str
    model: str
    optimizer: str = "adamw"
    lr: float = 2e-5
    batch_size: int = 32
    epochs: float = 3.0
    max_steps: int | None = None  # a step budget overrides epochs (the "Longer" study, Table 6 recipes)
    warmup_ratio: float = 0.1
    warmup_steps: int | None = None  # overrides warmup_ratio (Table 6 recipes)
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    adam_epsilon: float = 1e-6
    max_seq_len: int = 128
    num_layers: int | None = None  # truncate the encoder to its first k blocks
    reinit_pooler: bool = False
    reinit_layers: int = 0
    llrd: float | None = None  # layer-wise LR decay rate (Sec. 7.1)
    mixout: float = 0.0  # Mixout probability p (Sec. 7.1)
    pretrained_wd: float = 0.0  # strength of the pull toward the pre-trained weights (Sec. 7.1)
    intermediate: str | None = None  # fine-tune on this task first (Phang et al. 2018; Sec. 7.1)
    precision: str = "fp32"  # fp16 / bf16: autocast mixed precision (Appendix C)
    full_train: bool = False  # large tasks: all of train but the validation sample (Appendix D, MNLI)
    evaluations: int = 10
    train_examples: int | None = None  # stratified subsample of the train split
    eval_examples: int | None = None  # cap on validation and test sizes
    init_seed: int = 0
    data_seed: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Hash of the fields that differ from their defaults: adding a new method with an 'off' default
        leaves every existing trial id (and its finished MLflow runs) valid."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.default is not dataclasses.MISSING}
        canonical = {k: v for k, v in self.to_dict().items() if k not in defaults or defaults[k] != v}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def total_steps(cfg: TrainConfig, n_train: int) -> int:
    return cfg.max_steps or max(1, math.ceil(cfg.epochs * math.ceil(n_train / cfg.batch_size)))


def eval_steps(total: int, evaluations: int) -> list[int]:
    return sorted({max(1, round(k * total / evaluations)) for k in range(1, evaluations + 1)})


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@functools.lru_cache(maxsize=16)
def encoded_splits(task_name: str, model: str, max_seq_len: int, train_examples, eval_examples, full_train=False):
    """Tokenised splits, cached per worker process (reused across the trials it runs)."""
    tokenizer = tokenizer_for(model)
    out = {}
    for name, data in load_splits(task_name, train_examples, eval_examples, full_train).items():
        args = (list(data.text_a),) if data.text_b is None else (list(data.text_a), list(data.text_b))
        enc = tokenizer(*args, truncation=True, max_length=max_seq_len, padding=False)
        out[name] = (enc["input_ids"], enc.get("token_type_ids"), np.asarray(data.labels))
    return out, tokenizer.pad_token_id


def collate(split, indices, pad_id: int, regression: bool, dev: torch.device | None = None):
    ids, types, labels = split
    width = max(len(ids[i]) for i in indices)
    input_ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    token_types = torch.zeros((len(indices), width), dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        n = len(ids[i])
        input_ids[row, :n] = torch.tensor(ids[i])
        mask[row, :n] = 1
        if types is not None:
            token_types[row, :n] = torch.tensor(types[i])
    y = torch.tensor(labels[list(indices)], dtype=torch.float if regression else torch.long)
    inputs = {"input_ids": input_ids, "attention_mask": mask}
    if types is not None:
        inputs["token_type_ids"] = token_types
    if dev is not None and dev.type != "cpu":
        inputs, y = {k: v.to(dev, non_blocking=True) for k, v in inputs.items()}, y.to(dev, non_blocking=True)
    return inputs, y


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


@torch.no_grad()
def evaluate(model, split, pad_id: int, metric: str, regression: bool, precision: str = "fp32") -> float:
    model.eval()
    dev = next(model.parameters()).device
    order = np.argsort([len(x) for x in split[0]], kind="stable")  # length-sorted: less padding
    outputs = np.zeros((len(order), 1 if regression else model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), EVAL_BATCH):
        idx = order[start:start + EVAL_BATCH]
        inputs, _ = collate(split, idx, pad_id, regression, dev)
        with autocast(precision, dev):
            outputs[idx] = model(**inputs).logits.float().cpu().numpy()
    model.train()
    return score(metric, outputs, split[2])


def forward_backward(model, inputs: dict, labels: torch.Tensor, precision: str, scaler,
                     micro_batch: int | None = None) -> torch.Tensor | None:
    """The batch's mean loss with its gradients accumulated over micro-batches of ``micro_batch`` examples
    (each weighted by its share of the batch: the same effective batch); None when a loss is not finite."""
    n = labels.shape[0]
    size = micro_batch or n
    total = None
    for start in range(0, n, size):
        part = {k: v[start:start + size] for k, v in inputs.items()}
        with autocast(precision, labels.device):
            loss = model(**part, labels=labels[start:start + size]).loss
        if not torch.isfinite(loss):
            return None
        share = min(size, n - start) / n
        scaler.scale(loss if share == 1 else loss * share).backward()
        total = loss.detach() * share if total is None else total + loss.detach() * share
    return total


def train(cfg: TrainConfig, on_eval=None, keep_model: bool = False, micro_batch: int | None = None) -> dict:
    """Fine-tune once. Returns final metrics, curves and an outcome: ``finished`` or ``diverged`` (NaN/inf loss).
    ``micro_batch`` splits each batch for memory (gradient accumulation); it is not part of the trial's config.

    Methods plug in at three seams: the model (Re-init, Mixout, intermediate-task weights), the optimizer's
    parameter groups (LLRD, weight decay) and a hook before each optimizer step (pre-trained weight decay)."""
    task = get_task(cfg.task)
    regression = task.is_regression
    dev = device()
    base_state = intermediate_base_state(cfg) if cfg.intermediate else None
    splits, pad_id = encoded_splits(cfg.task, cfg.model, cfg.max_seq_len, cfg.train_examples, cfg.eval_examples,
                                    cfg.full_train)
    model = build_model(cfg.model, task.num_labels, cfg.init_seed, cfg.num_layers, cfg.reinit_layers,
                        cfg.reinit_pooler, cfg.mixout, base_state).to(dev)
    optimizer = build_optimizer(model, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.adam_epsilon, llrd=cfg.llrd)
    prior_wd = PretrainedWeightDecay(optimizer, model, cfg.pretrained_wd) if cfg.pretrained_wd else None
    scaler = torch.amp.GradScaler(dev.type, enabled=cfg.precision == "fp16")
    n_train = len(splits["train"][2])
    steps = total_steps(cfg, n_train)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else int(cfg.warmup_ratio * steps)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, steps)
    checkpoints = set(eval_steps(steps, cfg.evaluations))
    distance, distance_steps = BlockDistance(model), measure_steps(steps)

    torch.manual_seed(cfg.data_seed)  # dropout (and Mixout) stream
    order_rng = torch.Generator().manual_seed(cfg.data_seed)  # data order stream
    model.train()
    curves = {"train_loss": [], "lr": [], "val_metric": []}
    curves.update({f"l2_block_{i + 1}": [(0, 0.0)] for i in range(len(distance.params))})
    best_val, best_step, best_state, last_val = -math.inf, 0, None, math.nan
    outcome, step, train_seconds, eval_seconds = "finished", 0, 0.0, 0.0
    while step < steps and outcome == "finished":
        perm = torch.randperm(n_train, generator=order_rng).tolist()
        for start in range(0, n_train, cfg.batch_size):
            t0 = time.perf_counter()
            inputs, labels = collate(splits["train"], perm[start:start + cfg.batch_size], pad_id, regression, dev)
            loss = forward_backward(model, inputs, labels, cfg.precision, scaler, micro_batch)
            if loss is None:
                outcome = "diverged"
                break
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            curves["lr"].append((step + 1, scheduler.get_last_lr()[0]))
            if prior_wd:
                prior_wd.apply()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            curves["train_loss"].append((step, loss.item()))
            train_seconds += time.perf_counter() - t0
            if step in distance_steps:
                for i, value in enumerate(distance.measure()):
                    curves[f"l2_block_{i + 1}"].append((step, value))
            if step in checkpoints:
                t0 = time.perf_counter()
                last_val = evaluate(model, splits["validation"], pad_id, task.metric, regression, cfg.precision)
                curves["val_metric"].append((step, last_val))
                if last_val > best_val:
                    best_val, best_step = last_val, step
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                eval_seconds += time.perf_counter() - t0
                if on_eval:
                    on_eval(step, steps, last_val, curves)
            if step >= steps:
                break

    t0 = time.perf_counter()
    test = functools.partial(evaluate, split=splits["test"], pad_id=pad_id, metric=task.metric,
                             regression=regression, precision=cfg.precision)
    test_last = math.nan if outcome == "diverged" else test(model)
    if best_state is None:
        test_best = math.nan
    elif best_step == step and outcome == "finished":
        test_best = test_last
    else:
        model.load_state_dict(best_state)
        test_best = test(model)
    eval_seconds += time.perf_counter() - t0
    result = {
        "outcome": outcome,
        "metrics": {
            "best_val": best_val if best_state is not None else math.nan,
            "test_at_best_val": test_best,
            "val_last": last_val,
            "test_last": test_last,
            "best_step": best_step,
            "steps": step,
            "total_steps": steps,
            "train_examples": n_train,
            "train_seconds": train_seconds,
            "eval_seconds": eval_seconds,
        },
        "curves": curves,
    }
    if keep_model:
        result["model"] = model
    return result


def intermediate_base_state(cfg: TrainConfig) -> dict:
    """Transfer via an intermediate task (Phang et al. 2018; Sec. 7.1): fine-tune once on the whole
    intermediate training set with the target's hyperparameters and seed 0, cache its encoder weights on disk
    (shared by every target task and seed), and start the target from them."""
    inter = TrainConfig(task=cfg.intermediate, model=cfg.model, optimizer=cfg.optimizer, lr=cfg.lr,
                        batch_size=cfg.batch_size, epochs=cfg.epochs, warmup_ratio=cfg.warmup_ratio,
                        max_grad_norm=cfg.max_grad_norm, adam_epsilon=cfg.adam_epsilon, max_seq_len=cfg.max_seq_len,
                        num_layers=cfg.num_layers, precision=cfg.precision, full_train=True,
                        evaluations=cfg.evaluations, train_examples=cfg.train_examples,
                        eval_examples=cfg.eval_examples)
    path = cache_dir() / f"intermediate-{inter.fingerprint()}.pt"
    if not path.is_file():
        model = train(inter, keep_model=True)["model"]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        torch.save({k: v.cpu() for k, v in model.base_model.state_dict().items()}, partial)
        partial.replace(path)  # atomic: concurrent trials never read half a file
    return torch.load(path, map_location="cpu", weights_only=True)


def cache_dir() -> Path:
    """Shared by the trials of a study (the driver sets SUITE_CACHE to runs/cache)."""
    return Path(os.environ.get("SUITE_CACHE") or Path(__file__).resolve().parent.parent / "runs" / "cache")
