"""Run a plan: create the MLflow experiment, skip finished trials, run the rest as Ray Tune trials."""
from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

from pipelines import tracking
from pipelines.availability import reason
from pipelines.config import REPO_ROOT, SuiteConfig
from pipelines.plan import Plan, TrialSpec
from trainers import assets
from trainers.glue import files_for


class StudyError(RuntimeError):
    """A study cannot start: the message says why and what to do (the CLI prints it on one line)."""


class StudyLocked(StudyError):
    """Another driver holds this study's lock."""


class ClusterUnreachable(StudyError):
    """--ray-address / RAY_ADDRESS names a Ray cluster we cannot join, or MLFLOW_TRACKING_URI a dead server."""


def check_tracking_server(uri: str) -> None:
    """Fail in seconds, not after MLflow's minutes of retries, when the tracking server is down."""
    if not tracking.is_server(uri):
        return
    import urllib.request
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10):
            return
    except OSError as exc:
        raise ClusterUnreachable(f"the MLflow tracking server at {uri} does not answer ({exc}); start it with "
                                 f"`make mlflow-server` or fix MLFLOW_TRACKING_URI") from None


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
        commit = head.stdout.strip() or os.environ.get("SUITE_GIT_COMMIT", "unknown")
        return commit + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):  # no git (the docker image): the commit it was built from
        return os.environ.get("SUITE_GIT_COMMIT", "unknown")


def preflight(specs: list[TrialSpec]) -> dict[str, str]:
    """Check every shipped data file and local checkpoint the runnable trials need before any trial starts;
    returns data checksums per task ('hub' for files fetched from the hub)."""
    checksums = {}
    for task in sorted({t for s in specs for t in (s.config.task, s.config.intermediate) if t}):
        for relative in files_for(task):
            if assets.shipped(relative):
                assets.verify(relative)
        checksums[task] = ",".join(assets.manifest()[r][:16] if assets.shipped(r) else "hub" for r in files_for(task))
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

    from pipelines.trial import stopped_early

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
            if status == "done" and stopped_early(result):
                status = f"stopped by ASHA after evaluation {result['evaluation']} (val={result['val_metric']:.3f})"
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


def run_study(config: SuiteConfig, paper: str, profile_name: str | None, experiments: list[str] | None,
              ray_address: str | None = None, out=print) -> tuple[Plan, StudyOutcome]:
    """Run every stage: plan, run what is missing, choose (pipelines.selection), plan the next stage, ..."""
    from pipelines.plan import make_plan
    from pipelines.selection import next_choices

    total = StudyOutcome(0, 0, 0, [])
    choices: dict | None = {}
    session = None
    try:
        while True:
            plan = make_plan(config, paper, profile_name, experiments, choices)
            blocked = {s.trial_id: reason(s.config) for s in plan.unique()}
            runnable = [s for s in plan.unique() if not blocked[s.trial_id]]
            if not runnable and session is None and blocked:
                raise assets.AssetError(f"none of the {len(blocked)} planned trials can run here: "
                                        f"{next(iter(blocked.values()))}")
            checksums = preflight(runnable)  # before anything is written: a bad asset stops the study here
            if session is None:
                session = StudySession(config, plan, ray_address, out)
            finished = tracking.finished_trial_ids(session.client, session.experiment_id)
            todo = [s for s in runnable if s.trial_id not in finished]
            skipped = Counter(why for why in blocked.values() if why)
            out(f"{plan.paper}/{plan.profile}: {len(plan.specs)} trials planned, "
                f"{len(runnable) - len(todo)} already finished in MLflow, {len(todo)} to run"
                + (f"; pending stages: {', '.join(plan.pending)}" if plan.pending else ""))
            for why, count in skipped.items():
                out(f"  not run here ({count} trials): {why}")
            failed = failed_ids(session.run(todo, checksums)) if todo else []
            ran = total.ran + len(todo)
            total = StudyOutcome(len(plan.specs), len(runnable) - ran, ran, total.failed + failed)
            runs = tracking.runs_frame(session.client, session.experiment_id)
            choices = next_choices(config, plan, runs, choices)
            if choices is None:
                return plan, total
    finally:
        if session is not None:
            session.close()


EXECUTION_ENV = ("SUITE_TF32", "SUITE_COMPILE", "SUITE_TOKEN_CACHE", "SUITE_WEIGHT_CACHE")


def worker_env() -> dict[str, str]:
    """What trials on every node must see: the shared cache folder and the execution switches set here."""
    return {"SUITE_CACHE": os.environ["SUITE_CACHE"], **{k: os.environ[k] for k in EXECUTION_ENV if k in os.environ}}


class StudySession:
    """The MLflow experiment and (lazily) the Ray connection shared by every stage of one study."""

    def __init__(self, config: SuiteConfig, plan: Plan, ray_address: str | None, out, name: str | None = None):
        """``name``: the MLflow experiment (default: the study's, paper-profile); one driver at a time per name."""
        from mlflow.tracking import MlflowClient
        self.runs_dir = config.runs_dir
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.plan, self.out, self.ray_address, self.ray_started = plan, out, ray_address, False
        _, self.profile = config.profile(plan.profile)
        self.uri = tracking.tracking_uri(self.runs_dir)
        check_tracking_server(self.uri)
        self.client = MlflowClient(self.uri)
        self.name = name or tracking.experiment_name(plan.paper, plan.profile)
        self.lock = _study_lock(self.runs_dir, self.name)
        self.experiment_id = tracking.ensure_experiment(self.client, self.name, self.runs_dir / "mlartifacts")
        killed = tracking.mark_killed(self.client, self.experiment_id)
        if killed:
            out(f"{killed} run(s) left RUNNING by an interrupted driver are marked killed; their trials rerun")

    def _start_ray(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        os.environ.setdefault("SUITE_CACHE", str(self.runs_dir / "cache"))
        import ray
        if not self.ray_started:
            address = self.ray_address or os.environ.get("RAY_ADDRESS")
            local = {} if address else {"num_cpus": os.cpu_count(), "object_store_memory": 256 * 1024 * 1024}
            try:
                # "local": always a fresh instance; never silently join a stray cluster left on this machine
                ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                         logging_level="ERROR",
                         runtime_env={"env_vars": worker_env()}, **local)
            except (ConnectionError, RuntimeError) as exc:
                if not address:
                    raise
                raise ClusterUnreachable(
                    f"cannot join the Ray cluster at {address} ({str(exc).strip().splitlines()[0]}); start one with "
                    f"`ray start --head`, and where it uses token auth set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN"
                ) from None
            self.ray_started = True
            if address:
                nodes = [n for n in ray.nodes() if n["Alive"]]
                self.out(f"joined the Ray cluster at {address}: {len(nodes)} node(s), "
                         f"{ray.cluster_resources().get('CPU', 0):g} CPUs, "
                         f"{ray.cluster_resources().get('GPU', 0):g} GPUs")

    def run(self, todo: list[TrialSpec], checksums: dict[str, str], scheduler=None, tags: dict | None = None):
        """The trials as one Tune run; with a ``scheduler`` (ASHA) each trial reports at every evaluation."""
        self._start_ray()
        from ray import tune

        from pipelines.trial import run_trial
        plan = self.plan
        run_tags = {"paper": plan.paper, "profile": plan.profile, "git_commit": git_commit(),
                    **{f"version.{k}": v for k, v in package_versions().items()}, **(tags or {})}
        specs = [{"config": s.config.to_dict(), "run_name": s.name,
                  "tags": {**s.tags(), "data_sha256": checksums[s.config.task]}} for s in todo]
        resources = self.profile["resources"]
        trainable = tune.with_resources(run_trial,
                                        {"cpu": resources["cpus_per_trial"], "gpu": resources["gpus_per_trial"]})
        tuner = tune.Tuner(
            trainable,
            param_space={"spec": tune.grid_search(specs), "tracking_uri": self.uri,
                         "experiment_id": self.experiment_id, "run_tags": run_tags,
                         "threads": resources["cpus_per_trial"], "report_each_eval": scheduler is not None},
            tune_config=tune.TuneConfig(
                reuse_actors=True, scheduler=scheduler,
                metric="val_metric" if scheduler else None, mode="max" if scheduler else None,
                trial_name_creator=lambda t: t.config["spec"]["run_name"],
                trial_dirname_creator=lambda t: t.config["spec"]["tags"]["trial_id"],
            ),
            run_config=tune.RunConfig(
                name=f"{self.name}-{time.strftime('%Y%m%d-%H%M%S')}",
                storage_path=str(self.runs_dir / "ray"), verbose=0,
                failure_config=tune.FailureConfig(max_failures=self.profile["retries"]),  # each attempt: an MLflow run
                callbacks=[_progress_callback(len(todo), self.out)],
            ),
        )
        return tuner.fit()

    def close(self) -> None:
        if self.ray_started:
            import ray
            ray.shutdown()
        self.lock.close()  # releases the study lock (the OS releases it too if the driver dies)


def failed_ids(grid) -> list[str]:
    """Trial ids (or result folders) of the trials that failed on every attempt."""
    return [r.metrics.get("trial_id", "?") if r.metrics else str(r.path) for r in grid if r.error]


def _study_lock(runs_dir, name: str):
    """One driver per MLflow experiment and runs folder, so RUNNING runs found at start are known to be dead."""
    import fcntl
    handle = open(runs_dir / f".{name}.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StudyLocked(f"another driver is running {name} on {runs_dir}; wait for it or stop it first") from None
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
