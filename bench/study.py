"""Study efficiency: a real study of short trials through the driver (Ray Tune, MLflow), on the cpu profile.

Efficiency = the trials' own training and evaluation time / (wall time x concurrent slots). The rest is
overhead, split by where it is spent: outside the MLflow runs (Ray start, scheduling, worker start) and inside them
but outside training (model build, tokenisation or cache read, MLflow logging)."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from pipelines.config import load, scratch_copy


def measure(experiment: str = "bias_correction", tasks=("RTE", "MRPC", "STS-B", "CoLA")) -> dict:
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from pipelines.driver import run_study
    with tempfile.TemporaryDirectory() as folder:
        config = load(scratch_copy(Path(folder), lambda data: data["profiles"]["cpu"]["papers"]["revisiting"].update(
            tasks=list(tasks))))
        with mock.patch.dict(os.environ):
            os.environ.pop("MLFLOW_TRACKING_URI", None)  # a local store in the scratch folder
            started = time.time()
            plan, outcome = run_study(config, "revisiting", "cpu", [experiment], out=lambda line: None)
            ended = time.time()
        client = MlflowClient(tracking.tracking_uri(config.runs_dir))
        experiment_id = client.get_experiment_by_name(tracking.experiment_name("revisiting", "cpu")).experiment_id
        runs = list(tracking.all_runs(client, experiment_id, "attributes.status = 'FINISHED'"))
        _, profile = config.profile("cpu", "revisiting")
    slots = max(1, int((os.cpu_count() or 1) // profile["resources"]["cpus_per_trial"]))
    train = sum(r.data.metrics["train_seconds"] for r in runs)
    evals = sum(r.data.metrics["eval_seconds"] for r in runs)
    in_runs = sum((r.info.end_time - r.info.start_time) / 1000 for r in runs)
    n, wall = len(runs), ended - started
    first_start = min(r.info.start_time for r in runs) / 1000
    last_end = max(r.info.end_time for r in runs) / 1000
    return {"experiment": experiment, "tasks": list(tasks), "trials": n, "slots": slots, "wall_s": wall,
            "train_s": train, "eval_s": evals, "in_runs_s": in_runs,
            "efficiency": (train + evals) / (wall * slots), "steps_only_efficiency": train / (wall * slots),
            "overhead_per_trial_s": (wall * slots - train - evals) / n,
            "outside_runs_per_trial_s": (wall * slots - in_runs) / n,
            "inside_runs_per_trial_s": (in_runs - train - evals) / n, "failed": len(outcome.failed),
            "until_first_trial_s": first_start - started, "after_last_trial_s": ended - last_end,
            "worker_memory": worker_memory(runs)}


def worker_memory(runs) -> dict:
    """Each Ray worker's resident memory after each of its trials, in the order they ended (pipelines.trial logs
    it): the target is a flat line, every trial within 20% of the worker's RSS after its first."""
    from pipelines import tracking
    by_worker: dict[str, list] = {}
    for run in sorted(runs, key=lambda r: r.info.end_time):
        metrics = tracking.frame_metrics(run.data.metrics, tracking.task_metric_of(run.data.tags))
        if "worker_rss_mb" in metrics:  # the worker tag (host/node/pid), or an earlier version's worker_pid
            by_worker.setdefault(run.data.tags.get("worker") or run.data.tags["worker_pid"], []).append(
                (metrics["worker_rss_untrimmed_mb"], metrics["worker_rss_mb"]))
    growth = {pid: max(after for _, after in rows) / rows[0][1] for pid, rows in by_worker.items()}
    return {"workers": len(by_worker), "trials_per_worker": [len(r) for r in by_worker.values()],
            "first_mb": [rows[0][1] for rows in by_worker.values()],
            "max_mb": [max(a for _, a in rows) for rows in by_worker.values()],
            "max_growth": max(growth.values(), default=float("nan")),
            "freed_per_trial_mb": sum(b - a for rows in by_worker.values() for b, a in rows)
            / max(1, sum(len(r) for r in by_worker.values()))}
