"""The Ray Tune function trainable: one trial = one MLflow run around one call of the shared trainer."""
from __future__ import annotations

import math
import os
import time
import traceback

from ray import tune


def train_within_memory(cfg, train, on_eval=None, **options):
    """Out of GPU memory: retry with half the micro-batch (gradient accumulation keeps the effective batch)."""
    import torch
    micro_batch = None
    while True:
        try:
            return train(cfg, on_eval=on_eval, micro_batch=micro_batch, **options), micro_batch
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            micro_batch = (micro_batch or cfg.batch_size) // 2
            if micro_batch < 1:
                raise


def worker_provenance() -> dict:
    """Where the trial ran: host name, Ray's node id and IP (two nodes on one host differ only by id), and the
    worker process (Ray reuses workers across trials)."""
    import ray
    return {"host": os.uname().nodename, "ray_node_id": ray.get_runtime_context().get_node_id(),
            "node_ip": ray.util.get_node_ip_address(), "worker_pid": os.getpid()}


def worker_tag(where: dict) -> str:
    """One tag for the worker, host/Ray node/pid: which trials shared a process (bench.study's memory per worker),
    and on which node (a cluster test)."""
    return f"{where['host']}/{where['ray_node_id'][:12]}/{where['worker_pid']}"


def training_pools(cfg) -> dict[str, int] | None:
    """A multitask run's training examples per task pool (what it trains on), None for a single task."""
    from trainers.tasks import get_task
    if not get_task(cfg.task).parts:
        return None
    from trainers.multitask.train import pool_sizes
    return pool_sizes(cfg)


def run_trial(config: dict) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.monotonic()  # a worker's first trial imports the stack: the driver's ETA leaves that out
    import torch
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from trainers.config import TrainConfig
    from trainers.loop import execution_options, train

    imports = time.monotonic() - started
    torch.set_num_threads(max(1, int(config["threads"])))
    spec = config["spec"]
    cfg = TrainConfig(**spec["config"])
    client = MlflowClient(config["tracking_uri"])
    where = worker_provenance()
    tags = {**spec["tags"], **config["run_tags"], "worker": worker_tag(where)}
    provenance = {**config.get("provenance", {}), "data_sha256": spec["tags"].get("data_sha256"), **where,
                  "execution": {k: str(v).lower() for k, v in execution_options().items()}}
    run_id = tracking.start_run(client, config["experiment_id"], spec["run_name"], tags,
                                tracking.config_params(cfg.to_dict(), training_pools(cfg)),
                                config={"trial_id": spec["tags"]["trial_id"], "run_name": spec["run_name"],
                                        "config": cfg.to_dict(), "tags": spec["tags"]}, provenance=provenance)
    task_metric = tracking.task_metric_of(spec["tags"])
    logged: dict[str, int] = {}
    on_eval = None
    if config.get("report_each_eval"):  # ASHA: a result per evaluation, its points in MLflow before the scheduler acts
        def on_eval(step, steps, value, curves):
            if step < steps:  # the last evaluation is reported with the final metrics below
                tracking.log_curves(client, run_id, curves, logged, task_metric)
                tune.report({"val_metric": _rankable(value), "evaluation": len(curves["val_metric"]),
                             "run_id": run_id})
    teaches = bool(spec.get("teaches"))  # trials later in the study read this trial's train-set logits
    try:
        teacher = {}
        if cfg.teacher:  # KD / Self-KD: the teacher trial's logits, computed once when it ran (never rerun here)
            # (a search reads the teachers its study trained, config["teacher_experiment_id"], and its own)
            read = [tracking.read_train_logits(client, [config.get("teacher_experiment_id"), config["experiment_id"]],
                                               trial) for trial in cfg.teachers]
            if len({digest for _, digest in read}) > 1:
                raise ValueError(f"the ensemble teacher's members {cfg.teacher} trained on different examples")
            teacher = {"teacher_logits": read[0][0] if len(read) == 1 else [logits for logits, _ in read],
                       "teacher_digest": read[0][1]}
        result, micro_batch = train_within_memory(cfg, train, on_eval, train_logits=teaches, **teacher)
    except Exception:
        tracking.fail_run(client, run_id, traceback.format_exc())
        raise
    if teaches:
        tracking.log_train_logits(client, run_id, result.pop("train_logits"), result.pop("labels_digest"))
    if "outputs" in result:  # Xu et al.'s VOTE and AVG combine these across seeds in the analysis stage
        tracking.log_outputs(client, run_id, result.pop("outputs"))
    if micro_batch:
        client.set_tag(run_id, "micro_batch", str(micro_batch))
    tracking.finish_run(client, run_id, result, logged, task_metric)
    tracking.log_worker_memory(client, run_id, *release_memory())
    tune.report({**result["metrics"], "outcome": result["outcome"], "trial_id": spec["tags"]["trial_id"],
                 "run_id": run_id, "val_metric": _rankable(result["metrics"]["val_last"]),
                 "evaluation": len(result["curves"]["val_metric"]), "import_seconds": imports})


def worker_rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def release_memory() -> tuple[float, float]:
    """Give the trial's freed heap back to the OS; returns (resident MB before, after).

    Tune runs each trial of a reused worker in a new thread, and glibc gives threads their own malloc arenas, which
    keep freed chunks: measured on the smoke study, a worker's RSS grew ~20 MB per trial (717 -> 1,163 MB over 24
    trials) while the same trials in one thread stayed flat. malloc_trim(0) returns those free pages.

    The survivors of the collection (the imported stack: ~500k objects) are then frozen out of later collections:
    scanning them took 0.45 s per trial, a third of a smoke trial, and freed nothing (RSS measured flat)."""
    import ctypes
    import gc
    gc.collect()
    gc.freeze()
    before = worker_rss_mb()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass
    return before, worker_rss_mb()


def stopped_early(last_result: dict) -> bool:
    """A trial whose last Tune result is a per-evaluation report, not the final one (which carries 'outcome')."""
    return "evaluation" in last_result and "outcome" not in last_result


def _rankable(value: float) -> float:
    """A diverged trial's NaN ranks last for the scheduler."""
    return value if math.isfinite(value) else -math.inf
