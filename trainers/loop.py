"""The shared training loop (Zhang et al. 2021, Sec. 3 setup): warm-up then linear decay, clipping, E evenly
spaced evaluations (the last at the end), the best-validation state kept in memory, and the test metric at the
best-validation point and at the last step. Separate seeds: init (head, Re-init) and data (order and dropout).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from trainers.glue import get_task, load_splits
from trainers.metrics import score
from trainers.model import build_model, tokenizer_for
from trainers.optim import build_optimizer

EVAL_BATCH = 64


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a trial's numbers; its hash is the trial id."""
    task: str
    model: str
    optimizer: str = "adamw"
    lr: float = 2e-5
    batch_size: int = 32
    epochs: float = 3.0
    max_steps: int | None = None  # a step budget overrides epochs (the "Longer" study)
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    adam_epsilon: float = 1e-6
    max_seq_len: int = 128
    num_layers: int | None = None  # truncate the encoder to its first k blocks
    reinit_pooler: bool = False
    reinit_layers: int = 0
    evaluations: int = 10
    train_examples: int | None = None  # stratified subsample of the train split
    eval_examples: int | None = None  # cap on validation and test sizes
    init_seed: int = 0
    data_seed: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def total_steps(cfg: TrainConfig, n_train: int) -> int:
    return cfg.max_steps or max(1, math.ceil(cfg.epochs * math.ceil(n_train / cfg.batch_size)))


def eval_steps(total: int, evaluations: int) -> list[int]:
    return sorted({max(1, round(k * total / evaluations)) for k in range(1, evaluations + 1)})


@functools.lru_cache(maxsize=16)
def encoded_splits(task_name: str, model: str, max_seq_len: int, train_examples, eval_examples):
    """Tokenised splits, cached per worker process (reused across the trials it runs)."""
    tokenizer = tokenizer_for(model)
    out = {}
    for name, data in load_splits(task_name, train_examples, eval_examples).items():
        args = (list(data.text_a),) if data.text_b is None else (list(data.text_a), list(data.text_b))
        enc = tokenizer(*args, truncation=True, max_length=max_seq_len, padding=False)
        out[name] = (enc["input_ids"], enc.get("token_type_ids"), np.asarray(data.labels))
    return out, tokenizer.pad_token_id


def collate(split, indices, pad_id: int, regression: bool):
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
    return {"input_ids": input_ids, "token_type_ids": token_types, "attention_mask": mask}, y


@torch.no_grad()
def evaluate(model, split, pad_id: int, metric: str, regression: bool) -> float:
    model.eval()
    order = np.argsort([len(x) for x in split[0]], kind="stable")  # length-sorted: less padding
    outputs = np.zeros((len(order), 1 if regression else model.config.num_labels), dtype=np.float32)
    for start in range(0, len(order), EVAL_BATCH):
        idx = order[start:start + EVAL_BATCH]
        inputs, _ = collate(split, idx, pad_id, regression)
        outputs[idx] = model(**inputs).logits.float().numpy()
    model.train()
    return score(metric, outputs, split[2])


def train(cfg: TrainConfig, on_eval=None) -> dict:
    """Fine-tune once. Returns final metrics, curves and an outcome: ``finished`` or ``diverged`` (NaN/inf loss)."""
    task = get_task(cfg.task)
    regression = task.is_regression
    splits, pad_id = encoded_splits(cfg.task, cfg.model, cfg.max_seq_len, cfg.train_examples, cfg.eval_examples)
    model = build_model(cfg.model, task.num_labels, cfg.init_seed, cfg.num_layers, cfg.reinit_layers, cfg.reinit_pooler)
    optimizer = build_optimizer(model, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.adam_epsilon)
    n_train = len(splits["train"][2])
    steps = total_steps(cfg, n_train)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * steps), steps)
    checkpoints = set(eval_steps(steps, cfg.evaluations))

    torch.manual_seed(cfg.data_seed)  # dropout stream
    order_rng = torch.Generator().manual_seed(cfg.data_seed)  # data order stream
    model.train()
    curves = {"train_loss": [], "lr": [], "val_metric": []}
    best_val, best_step, best_state, last_val = -math.inf, 0, None, math.nan
    outcome, step, train_seconds, eval_seconds = "finished", 0, 0.0, 0.0
    while step < steps and outcome == "finished":
        perm = torch.randperm(n_train, generator=order_rng).tolist()
        for start in range(0, n_train, cfg.batch_size):
            t0 = time.perf_counter()
            inputs, labels = collate(splits["train"], perm[start:start + cfg.batch_size], pad_id, regression)
            loss = model(**inputs, labels=labels).loss
            if not torch.isfinite(loss):
                outcome = "diverged"
                break
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            curves["lr"].append((step + 1, scheduler.get_last_lr()[0]))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            curves["train_loss"].append((step, loss.item()))
            train_seconds += time.perf_counter() - t0
            if step in checkpoints:
                t0 = time.perf_counter()
                last_val = evaluate(model, splits["validation"], pad_id, task.metric, regression)
                curves["val_metric"].append((step, last_val))
                if last_val > best_val:
                    best_val, best_step = last_val, step
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                eval_seconds += time.perf_counter() - t0
                if on_eval:
                    on_eval(step, steps, last_val)
            if step >= steps:
                break

    t0 = time.perf_counter()
    test_last = math.nan if outcome == "diverged" else evaluate(model, splits["test"], pad_id, task.metric, regression)
    if best_state is None:
        test_best = math.nan
    elif best_step == step and outcome == "finished":
        test_best = test_last
    else:
        model.load_state_dict(best_state)
        test_best = evaluate(model, splits["test"], pad_id, task.metric, regression)
    eval_seconds += time.perf_counter() - t0
    return {
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
