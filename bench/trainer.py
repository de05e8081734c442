"""Our trainer vs ``transformers.Trainer`` on identical work: the same checkpoint (with the same init-seeded head),
task split, batch size, sequence limit, steps, optimizer (fused AdamW), warm-up and linear decay, clipping,
seed and threads. Training throughput is timed over the optimizer steps only (our evaluations are excluded);
the validation metric of each final model is computed by the same code (``trainers.loop.evaluate``).

Baselines, as a user would configure transformers.Trainer:
* ``hf pad-to-max``: every example padded to the sequence limit (``run_glue.py``'s default, ``pad_to_max_length``);
* ``hf dynamic``: ``DataCollatorWithPadding`` (each batch padded to its longest row);
* ``hf group_by_length``: dynamic padding and ``train_sampling_strategy="group_by_length"``.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from unittest import mock

import numpy as np
import torch

from trainers.tasks import get_task
from trainers.config import TrainConfig, total_steps
from trainers.loop import evaluate, train
from trainers.model import build_model, tokenizer_for
from trainers.tokens import encoded_splits

CONFIGS = ("ours random", "ours length_grouped", "hf pad-to-max", "hf dynamic", "hf group_by_length")


def planned_trials(tasks, seeds: int, profile: str = "cpu") -> list[TrainConfig]:
    """The trials the profile itself runs for plain fine-tuning (bias_correction's AdamW arm, Table 1's Standard
    setting): the first ``seeds`` seeds of each task, as the planner builds them."""
    from pipelines.config import load
    from pipelines.plan import make_plan
    plan = make_plan(load(), "revisiting", profile, ["bias_correction"])
    members = [m for m in plan.experiments["bias_correction"] if m.arm == "adamw"]
    return [plan.specs[m.trial_id].config for task in tasks
            for m in sorted((m for m in members if m.task == task), key=lambda m: m.data_seed)[:seeds]]


def _splits(cfg: TrainConfig):
    return encoded_splits(cfg.task, cfg.model, cfg.max_seq_len, cfg.train_examples, cfg.eval_examples,
                          cfg.full_train)


def run_ours(cfg: TrainConfig, mode: str) -> dict:
    """``mode``: the batching, with ``+compile`` for torch.compile (SUITE_COMPILE)."""
    batching, *flags = mode.split("+")
    with mock.patch.dict(os.environ, {"SUITE_COMPILE": "1" if "compile" in flags else "0"}):
        result = train(replace(cfg, batching=batching))
    m = result["metrics"]
    return {"seconds": m["train_seconds"], "steps": m["steps"], "val": m["val_last"]}


def run_hf(cfg: TrainConfig, mode: str, dev: torch.device) -> dict:
    """transformers.Trainer on the same split and model; ``mode``: pad-to-max, dynamic or group_by_length."""
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainingArguments
    task = get_task(cfg.task)
    splits, pad_id = _splits(cfg)
    train_split = splits["train"]
    rows = []
    for i in range(len(train_split)):
        r = train_split.row(i)
        row = {"input_ids": train_split.ids[r].tolist(), "attention_mask": [1] * (r.stop - r.start),
               "labels": float(train_split.labels[i]) if task.is_regression else int(train_split.labels[i])}
        if train_split.types is not None:
            row["token_type_ids"] = train_split.types[r].tolist()
        rows.append(row)
    tokenizer = tokenizer_for(cfg.model)
    collator = (DataCollatorWithPadding(tokenizer, padding="max_length", max_length=cfg.max_seq_len)
                if mode == "pad-to-max" else DataCollatorWithPadding(tokenizer))
    model = build_model(cfg.model, task.num_labels, cfg.init_seed, cfg.num_layers)
    steps = total_steps(cfg, len(train_split))
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.lr, max_steps=steps,
            warmup_steps=int(cfg.warmup_ratio * steps), lr_scheduler_type="linear", weight_decay=cfg.weight_decay,
            adam_epsilon=cfg.adam_epsilon, max_grad_norm=cfg.max_grad_norm, seed=cfg.data_seed,
            optim="adamw_torch_fused", bf16=cfg.precision == "bf16", use_cpu=dev.type == "cpu",
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to="none", disable_tqdm=True,
            dataloader_num_workers=0,
            train_sampling_strategy="group_by_length" if mode == "group_by_length" else "random")
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
        trainer.remove_callback(PrinterCallback)  # its end-of-training metrics line; we print our own
        output = trainer.train()
    val = evaluate(trainer.model, splits["validation"], pad_id, task.metric, task.is_regression, cfg.precision)
    return {"seconds": output.metrics["train_runtime"], "steps": output.global_step, "val": val}


def compare(cfg: TrainConfig, configs=CONFIGS, dev: torch.device | None = None, repeat: int = 1) -> list[dict]:
    """One row per configuration: examples/s, real tokens/s, validation metric. ``repeat`` > 1 times the last of
    that many runs (on a GPU the first run of a shape pays kernel selection and module loading)."""
    dev = dev or torch.device("cpu")
    splits, _ = _splits(cfg)
    lengths = splits["train"].lengths
    rows = []
    for name in configs:
        kind, mode = name.split(" ", 1)
        t = time.perf_counter()
        try:
            for _ in range(repeat):
                r = run_ours(cfg, mode) if kind == "ours" else run_hf(cfg, mode, dev)
        except (TypeError, ValueError) as exc:  # e.g. an older transformers without this Trainer option
            print(f"  {cfg.task} {name}: not run ({exc})", flush=True)
            continue
        examples = r["steps"] * cfg.batch_size
        rows.append({"task": cfg.task, "seed": cfg.data_seed, "config": name, "seconds": r["seconds"],
                     "wall_s": time.perf_counter() - t, "steps": r["steps"],
                     "examples_per_s": examples / r["seconds"],
                     "real_tokens_per_s": examples * float(np.mean(lengths)) / r["seconds"], "val": r["val"]})
        print(f"  {cfg.task} seed {cfg.data_seed} {name:22s} {rows[-1]['examples_per_s']:7.1f} ex/s  "
              f"val {r['val']:.3f}", flush=True)
    return rows


def main() -> None:  # the GPU comparison (python -m bench.trainer on a CUDA machine); make bench runs the CPU one
    import argparse
    import json
    parser = argparse.ArgumentParser(description="our trainer vs transformers.Trainer")
    parser.add_argument("--out", required=True)
    parser.add_argument("--tasks", default="RTE,STS-B")
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--batch-size", type=int, help="instead of the cpu profile's")
    parser.add_argument("--max-seq-len", type=int, help="instead of the cpu profile's")
    parser.add_argument("--train-examples", type=int, help="instead of the cpu profile's")
    parser.add_argument("--repeat", type=int, default=2, help="time the last of this many runs of each")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    overrides = {"precision": args.precision, "model": os.environ.get("BENCH_MODEL"), "batch_size": args.batch_size,
                 "max_seq_len": args.max_seq_len, "train_examples": args.train_examples}
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    configs = CONFIGS + (("ours length_grouped+compile",) if dev.type == "cuda" else ())
    rows = []
    for cfg in planned_trials(args.tasks.split(","), 1):
        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        rows += compare(cfg, configs, dev=dev, repeat=args.repeat)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "rows": rows}, fh,
                  indent=1)


if __name__ == "__main__":
    main()
