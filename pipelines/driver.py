"""Run a plan: create the MLflow experiment, skip finished trials, run the rest as Ray Tune trials."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines import tracking
from pipelines.config import REPO_ROOT, SuiteConfig
from pipelines.plan import Plan, TrialSpec
from trainers import assets
from trainers.glue import files_for


@dataclass
class StudyOutcome:
    planned: int
    reused: int
    ran: int
    failed: list[str]


def fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10)
        commit = head.stdout.strip() or "unknown"
        return commit + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def preflight(specs: list[TrialSpec]) -> dict[str, str]:
    """Check every data file and checkpoint the trials need before any trial starts; returns data checksums."""
    checksums = {}
    for task in sorted({s.config.task for s in specs}):
        for relative in files_for(task):
            assets.verify(relative)
        checksums[task] = ",".join(assets.manifest()[r][:16] for r in files_for(task))
    for model in sorted({s.config.model for s in specs}):
        assets.model_source(model)
        for relative in assets.model_files(model):
            assets.verify(relative)
    return checksums


def package_versions() -> dict[str, str]:
    import mlflow
    import ray
    import torch
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "ray": ray.__version__, "mlflow": mlflow.__version__}


def _progress_callback(total: int, out):
    from ray import tune

    class Progress(tune.Callback):
        """One line per finished trial: done/total, elapsed, ETA, and the trial's headline numbers."""

        def __init__(self):
            self.done, self.start = 0, time.monotonic()

        def _line(self, trial, status: str) -> None:
            self.done += 1
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.done * (total - self.done)
            result = trial.last_result or {}
            numbers = ""
            if "best_val" in result:
                numbers = (f" val={result['best_val']:.3f} test={result['test_at_best_val']:.3f}"
                           f" ({result.get('outcome', '?')})")
            out(f"[{self.done}/{total}] {fmt_seconds(elapsed)} elapsed, ETA {fmt_seconds(eta)} | "
                f"{trial.config['spec']['run_name']}: {status}{numbers}")

        def on_trial_complete(self, iteration, trials, trial, **info):
            self._line(trial, "done")

        def on_trial_error(self, iteration, trials, trial, **info):
            self._line(trial, "FAILED")

    return Progress()


def run_study(config: SuiteConfig, plan: Plan, ray_address: str | None = None, out=print) -> StudyOutcome:
    checksums = preflight(plan.unique())  # before anything is written: a bad asset stops the study here
    runs_dir = config.runs_dir
    runs_dir.mkdir(parents=True, exist_ok=True)
    _, profile = config.profile(plan.profile)
    from mlflow.tracking import MlflowClient
    uri = tracking.tracking_uri(runs_dir)
    client = MlflowClient(uri)
    experiment_id = tracking.ensure_experiment(client, tracking.experiment_name(plan.paper, plan.profile),
                                               runs_dir / "mlartifacts")
    finished = tracking.finished_trial_ids(client, experiment_id)
    todo = [s for s in plan.unique() if s.trial_id not in finished]
    out(f"{plan.paper}/{plan.profile}: {len(plan.specs)} trials planned, "
        f"{len(plan.specs) - len(todo)} already finished in MLflow, {len(todo)} to run")
    if not todo:
        return StudyOutcome(len(plan.specs), len(plan.specs), 0, [])

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import ray
    from ray import tune

    from pipelines.trial import run_trial

    address = ray_address or os.environ.get("RAY_ADDRESS")
    local = {} if address else {"num_cpus": os.cpu_count(), "object_store_memory": 256 * 1024 * 1024}
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR", **local)
    try:
        run_tags = {"paper": plan.paper, "profile": plan.profile, "git_commit": git_commit(),
                    **{f"version.{k}": v for k, v in package_versions().items()}}
        specs = [{"config": s.config.to_dict(), "run_name": f"{s.config.task}-{s.method}-seed{s.seed}",
                  "tags": {**s.tags(), "data_sha256": checksums[s.config.task]}} for s in todo]
        resources = profile["resources"]
        trainable = tune.with_resources(run_trial,
                                        {"cpu": resources["cpus_per_trial"], "gpu": resources["gpus_per_trial"]})
        tuner = tune.Tuner(
            trainable,
            param_space={"spec": tune.grid_search(specs), "tracking_uri": uri, "experiment_id": experiment_id,
                         "run_tags": run_tags, "threads": resources["cpus_per_trial"]},
            tune_config=tune.TuneConfig(
                reuse_actors=True,
                trial_name_creator=lambda t: t.config["spec"]["run_name"],
                trial_dirname_creator=lambda t: t.config["spec"]["tags"]["trial_id"],
            ),
            run_config=tune.RunConfig(
                name=f"{plan.paper}-{plan.profile}-{time.strftime('%Y%m%d-%H%M%S')}",
                storage_path=str(runs_dir / "ray"), verbose=0,
                callbacks=[_progress_callback(len(todo), out)],
            ),
        )
        grid = tuner.fit()
    finally:
        ray.shutdown()
    failed = [r.metrics.get("trial_id", "?") if r.metrics else str(r.path) for r in grid if r.error]
    return StudyOutcome(len(plan.specs), len(plan.specs) - len(todo), len(todo), failed)

