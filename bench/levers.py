"""CPU levers measured on/off, each in isolation: the on-disk token cache, a worker's kept weights, and batched
MLflow logging. (Length grouping is measured in bench.trainer; the GPU levers in bench.gpu.)"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from unittest import mock

from trainers import tokens
from trainers.model import build_model


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def token_cache(task: str = "SST-2", model: str = "all-MiniLM-L6-v2", max_seq_len: int = 128) -> dict:
    """Tokenising a large split (SST-2's full training set, about 66k sentences) vs reading it from the cache."""
    args = (task, model, max_seq_len, None, None, True)

    def fresh():
        tokens.encoded_splits.cache_clear()  # the per-process cache would hide both
        return tokens.encoded_splits(*args)
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"SUITE_CACHE": cache}):
        os.environ["SUITE_TOKEN_CACHE"] = "0"
        off = _median_seconds(fresh, 2)
        os.environ["SUITE_TOKEN_CACHE"] = "1"
        fresh()  # writes the cache file
        on = _median_seconds(fresh, 3)
        splits, _ = fresh()
    tokens.encoded_splits.cache_clear()
    return {"lever": "tokenized datasets cached on disk",
            "setting": f"{task} full train ({len(splits['train'])} examples), length {max_seq_len}",
            "off_s": off, "on_s": on}


def weight_cache(model: str = "all-MiniLM-L6-v2", num_layers: int = 3) -> dict:
    """A new trial's model: from_pretrained from local disk vs a copy of the one the worker keeps."""
    def build():
        build_model(model, 2, 0, num_layers)
    with mock.patch.dict(os.environ):
        os.environ["SUITE_WEIGHT_CACHE"] = "0"
        build()  # imports and the page cache, for both
        off = _median_seconds(build, 5)
        os.environ["SUITE_WEIGHT_CACHE"] = "1"
        build()
        on = _median_seconds(build, 5)
    return {"lever": "workers keep loaded weights", "setting": f"{model}, {num_layers} blocks", "off_s": off,
            "on_s": on}


def mlflow_batching(steps: int = 300, blocks: int = 24, evaluations: int = 10) -> dict:
    """One trial's curves into a local MLflow store: a call per point vs tracking.log_curves (log_batch).
    Sized as a paper-profile trial: BERT-large (24 blocks), about 300 steps, 10 evaluations."""
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    curves = {"train_loss": [(s, 1.0 / s) for s in range(1, steps + 1)],
              "lr": [(s, 2e-5) for s in range(1, steps + 1)],
              "val_metric": [(s, 0.5) for s in range(steps // evaluations, steps + 1, steps // evaluations)]}
    curves.update({f"l2_block_{b}": [(s, 0.1) for s in range(0, steps + 1, steps // 20)] for b in range(1, blocks + 1)})
    points = sum(len(v) for v in curves.values())
    with tempfile.TemporaryDirectory() as folder:
        client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
        experiment = client.create_experiment("bench", artifact_location=f"file://{folder}/artifacts")
        run = client.create_run(experiment).info.run_id  # the schema is created before timing
        t = time.perf_counter()
        for name, values in curves.items():
            for step, value in values:
                client.log_metric(run, name, value, step=step)
        off = time.perf_counter() - t
        run = client.create_run(experiment).info.run_id
        t = time.perf_counter()
        tracking.log_curves(client, run, curves, {})
        on = time.perf_counter() - t
        assert len(client.get_metric_history(run, "train_loss")) == steps
    return {"lever": "batched MLflow logging", "setting": f"one trial's {points} curve points, sqlite store",
            "off_s": off, "on_s": on}


def cpu_step_profile(profile: dict, task: str = "RTE", steps: int = 4, precision: str = "fp32") -> str:
    """Where a training step spends its time on a CPU, by operator (torch.profiler): the trainer's own step
    (collate, forward_backward, optimizer_step) on the profile's model, batch, length and batching (the first
    batches of data seed 1), at ``precision`` (bf16: with the eager attention the trainer runs it with on a CPU)."""
    import torch
    from torch.profiler import ProfilerActivity, profile as torch_profile

    from trainers.batching import epoch_batches
    from trainers.execution import cpu_bf16_attention
    from trainers.tasks import get_task
    from trainers.loop import collate, forward_backward, optimizer_step
    from trainers.optim import build_optimizer
    splits, pad_id = tokens.encoded_splits(task, profile["model"], profile["max_seq_len"],
                                           profile["train_examples"], profile["eval_examples"], False)
    model = build_model(profile["model"], get_task(task).num_labels, 0, profile["num_layers"])
    cpu_bf16_attention(model, precision, torch.device("cpu"))
    model.train()
    optimizer = build_optimizer(model, "adamw", float(profile["lr"]))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    batches = list(epoch_batches(splits["train"].lengths, profile["batch_size"], torch.Generator().manual_seed(1),
                                 profile.get("batching", "random")))

    def step(i: int) -> None:
        inputs, labels = collate(splits["train"], batches[i], pad_id, False)
        forward_backward(model, inputs, labels, precision, scaler)
        optimizer_step(model, optimizer, scaler, float(profile["max_grad_norm"]))
    step(0)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(1, steps + 1):
            step(i)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=40)


def teacher_logits(profile: dict, task: str = "MRPC", examples: int = 256, repeat: int = 2) -> dict:
    """A KD trial of the profile's student vs a Finetune trial of the same student, side by side: the teacher's
    logits over the training set are computed once (by the teacher trial) and read by example index, so KD
    should cost what Finetune costs. Also times the one teacher pass that replaces a teacher forward per step."""
    import dataclasses

    from trainers.config import TrainConfig
    from trainers.loop import train
    student = TrainConfig(task=task, model=profile["model"], num_layers=profile["num_layers"],
                          max_seq_len=profile["max_seq_len"], batch_size=profile["batch_size"], lr=2e-4, epochs=1,
                          evaluations=1, train_examples=examples, eval_examples=32,
                          batching=profile.get("batching", "random"), init_seed=1, data_seed=1)
    teacher = dataclasses.replace(student, num_layers=None)
    started = time.perf_counter()
    taught = train(teacher, train_logits=True)
    teacher_s = time.perf_counter() - started - taught["metrics"]["train_seconds"] - taught["metrics"]["eval_seconds"]
    kd = dataclasses.replace(student, objective="kd", objective_args=(("alpha", 0.5),), teacher="bench")
    finetune_s, kd_s = [], []
    for _ in range(repeat):  # alternated, so drifts in machine load hit both
        finetune_s.append(train(student)["metrics"]["train_seconds"])
        kd_s.append(train(kd, teacher_logits=taught["train_logits"],
                          teacher_digest=taught["labels_digest"])["metrics"]["train_seconds"])
    return {"lever": "teacher logits computed once",
            "setting": f"{task}, {examples} examples, 1 epoch: KD vs Finetune of the {profile['model']} student "
                       f"({profile['num_layers'] or 'all'} blocks), 6-block teacher",
            "finetune_s": statistics.median(finetune_s), "kd_s": statistics.median(kd_s),
            "teacher_pass_s": teacher_s}


def self_teacher(task: str = "AG-proxy", model: str = "paraphrase-MiniLM-L3-v2", examples: int = 160,
                 repeat: int = 2) -> dict:
    """Xu et al.'s self-teachers against BASE on the same student, side by side (alternated, medians): training
    seconds of SDA(T-1) (one teacher forward a step, a running mean), SDA(5) (a 5-step window) and SDV(5) (five
    teacher forwards a step), and the window's memory: K flat fp32 copies of the parameters (O(K), no model copies
    beyond the one teacher)."""
    import dataclasses

    from trainers.config import TrainConfig
    from trainers.loop import train
    from trainers.model import build_model
    base = TrainConfig(task=task, model=model, max_seq_len=64, batch_size=16, lr=2e-4, epochs=1, evaluations=1,
                       train_examples=examples, eval_examples=32, head_lr=1e-3, init_seed=1, data_seed=1)
    arms = {"BASE": base, "SDA(T-1)": dataclasses.replace(base, objective="sd", self_teacher="sda"),
            "SDA(5)": dataclasses.replace(base, objective="sd", self_teacher="sda", teacher_k=5),
            "SDV(5)": dataclasses.replace(base, objective="sd", self_teacher="sdv", teacher_k=5)}
    seconds = {name: [] for name in arms}
    for _ in range(repeat):
        for name, cfg in arms.items():
            seconds[name].append(train(cfg)["metrics"]["train_seconds"])
    params = sum(p.numel() for p in build_model(model, 4, 1).parameters())
    return {"setting": f"{task}, {examples} examples, 1 epoch, length 64, {model}",
            "seconds": {name: statistics.median(v) for name, v in seconds.items()},
            "window_mb_per_step": params * 4 / 2**20}
