"""Run a plan: create the MLflow experiment, skip finished trials, run the rest as Ray Tune trials."""
from __future__ import annotations

import math
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass

from pipelines import tracking
from pipelines.availability import blocked as blocked_reasons
from pipelines.config import REPO_ROOT, SuiteConfig
from pipelines.plan import Plan, TrialSpec, describe, make_plan
from pipelines.selection import next_choices, resolved_plan
from pipelines.terminal import QuietTerminal, log_path
from trainers import assets
from trainers.tasks import files_for


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


class Progress:
    """One line per finished trial, counted across every stage of a study: done/total, elapsed, ETA, and the
    trial's headline numbers. The ETA is the mean trial duration (Tune's time_total_s: the trial's own time,
    without Ray's start, queueing, or a new worker's imports, so it is honest from the first trial) x the rounds
    of ``slots`` parallel trials left."""

    def __init__(self, total: int, out, slots: int = 1):
        self.total, self.out, self.slots = total, out, max(1, slots)
        self.done, self.start, self.durations = 0, time.monotonic(), []

    def eta(self) -> float:
        left = max(0, self.total - self.done)
        if not self.durations or not left:
            return 0.0
        return sum(self.durations) / len(self.durations) * math.ceil(left / self.slots)

    def finished(self, name: str, result: dict, status: str) -> None:
        from pipelines.trial import stopped_early  # the worker's module imports Ray Tune: only once trials run
        self.done += 1
        self.total = max(self.total, self.done)
        if result.get("time_total_s"):
            self.durations.append(float(result["time_total_s"]) - float(result.get("import_seconds", 0.0)))
        numbers = ""
        if status == "done" and stopped_early(result):
            status = f"stopped by ASHA after evaluation {result['evaluation']} (val={result['val_metric']:.3f})"
        if "best_val" in result:
            numbers = (f" val={result['best_val']:.3f} test={result['test_at_best_val']:.3f}"
                       f" ({result.get('outcome', '?')})")
        self.out(f"[{self.done}/{self.total}] {fmt_seconds(time.monotonic() - self.start)} elapsed, "
                 f"ETA {fmt_seconds(self.eta())} | {name}: {status}{numbers}")

    def callback(self):
        from ray import tune

        class Callback(tune.Callback):
            def __init__(self, progress):
                self.progress = progress

            def __getstate__(self):  # Tune pickles its callbacks for restores; ours holds the terminal
                return {}

            def on_trial_complete(self, iteration, trials, trial, **info):
                self.progress.finished(trial.config["spec"]["run_name"], trial.last_result or {}, "done")

            def on_trial_error(self, iteration, trials, trial, **info):
                self.progress.finished(trial.config["spec"]["run_name"], trial.last_result or {}, "FAILED")

        return Callback(self)


def run_study(config: SuiteConfig, paper: str, profile_name: str | None, experiments: list[str] | None,
              ray_address: str | None = None, out=None, teach: set[str] = frozenset()) -> tuple[Plan, StudyOutcome]:
    """Run every stage: plan, run what is missing, choose (pipelines.selection), plan the next stage, ...
    ``out``: where progress lines go (default: the terminal; everything else goes to the session's log).
    ``teach``: trial ids that must leave their train-set logits although no planned trial reads them (a search's)."""
    total = StudyOutcome(0, 0, 0, [])
    choices: dict | None = {}
    session = progress = None
    told: set[str] = set()
    try:
        while True:
            plan = make_plan(config, paper, profile_name, experiments, choices)
            blocked = blocked_reasons(plan.unique())
            runnable = [s for s in plan.unique() if not blocked[s.trial_id]]
            if not blocked and session is None:  # only skipped (or waiting) experiments: no store, no Ray
                (out or print)(f"{plan.paper}/{plan.profile}: 0 trials to run: " + "; ".join(
                    [f"{n} is skipped at profile {plan.profile} ({why})" for n, why in plan.skipped.items()]
                    + [f"{n} is pending ({why})" for n, why in plan.pending.items()]))
                return plan, total
            if not runnable and session is None:
                raise assets.AssetError(f"none of the {len(blocked)} planned trials can run here: "
                                        f"{next(iter(blocked.values()))}")
            checksums = preflight(runnable)  # before anything is written: a bad asset stops the study here
            if session is None:
                session = StudySession(config, plan, ray_address, out)
            session.plan = plan  # this stage's experiments: the run tags name every experiment using a trial
            finished = tracking.finished_trial_ids(session.client, session.experiment_id)
            teachers = {t for s in plan.unique() for t in s.config.teachers} | set(teach)
            # a teacher that finished without its train-set logits (it ran before anything it teaches was
            # planned) runs once more, now writing them
            finished -= teachers - tracking.teachers_ready(session.client, session.experiment_id)
            arms = memberships(plan)  # a later stage's experiments may use finished trials: tag their runs too
            tracking.add_memberships(session.client, session.experiment_id,
                                     {t: a for t, a in arms.items() if t in finished})
            todo = [s for s in runnable if s.trial_id not in finished]
            if progress is None:  # stages that finished runs already choose for are exact; later ones stand-ins
                _, totals = describe(resolved_plan(config, paper, profile_name, experiments), session.profile)
            else:
                _, totals = describe(plan, session.profile)
            left = len(totals.runnable_ids - finished)
            if progress is None:
                session.out(f"{plan.paper}/{plan.profile}: {totals.unique} trials planned in "
                            f"{len(set(plan.stages.values()))} stage(s), {totals.runnable} of them runnable here: "
                            f"{totals.runnable - left} already finished in MLflow, {left} to run"
                            + (" (later stages estimated)" if plan.pending else "")
                            + f"; Ray's own output goes to {session.log_path}")
                progress = Progress(left, session.out)
            progress.total = progress.done + left
            stage = [n for n in plan.experiments if n not in plan.pending and
                     any(m.trial_id in {s.trial_id for s in todo} for m in plan.experiments[n])]
            session.out(f"stage {max((plan.stages[n] for n in stage), default=0)}: "
                        f"{len(todo)} to run" + (f" ({', '.join(stage)})" if stage else "")
                        + (f"; pending stages: {', '.join(plan.pending)}" if plan.pending else ""))
            for why, count in Counter(why for why in blocked.values() if why).items():
                if why not in told:
                    told.add(why)
                    session.out(f"  not run here ({count} trials): {why}")
            failed, orphans = run_taught(session, todo, checksums, progress, finished, teachers) if todo else ([], 0)
            ran = total.ran + len(todo) - orphans
            total = StudyOutcome(len(plan.specs), len(runnable) - ran, ran, total.failed + failed)
            runs = tracking.runs_frame(session.client, session.experiment_id)
            choices = next_choices(config, plan, runs, choices)
            if choices is None:
                return plan, total
    finally:
        if session is not None:
            session.close()


def run_taught(session, todo: list[TrialSpec], checksums: dict, progress: Progress, finished: set[str],
               teachers: set[str], tags: dict | None = None) -> tuple[list[str], int]:
    """The trials in waves: a teacher's wave before the trials it teaches (they read its logits), so a study of
    teachers and students is one command. A trial whose teacher failed is not run; it is counted and said.
    Returns the failed trial ids and how many trials were not run."""
    done, failed, orphaned = set(finished), [], 0
    pending = {s.trial_id: s for s in todo}
    while pending:
        wave = [s for s in pending.values() if not any(t in pending for t in s.config.teachers)]
        ready = [s for s in wave if all(t in done for t in s.config.teachers)]
        orphans = [s for s in wave if s not in ready]
        if orphans:
            orphaned += len(orphans)
            progress.total -= len(orphans)
            session.out(f"  not run ({len(orphans)} trials): their teacher trial failed, e.g. {orphans[0].name} "
                        f"(teacher {orphans[0].config.teacher})")
        if ready:
            wave_failed = failed_ids(session.run(ready, checksums, progress=progress, teaches=teachers, tags=tags))
            failed += wave_failed
            done |= {s.trial_id for s in ready} - set(wave_failed)
        for spec in wave:
            del pending[spec.trial_id]
    return failed, orphaned


EXECUTION_ENV = ("SUITE_TF32", "SUITE_COMPILE", "SUITE_TOKEN_CACHE", "SUITE_WEIGHT_CACHE", "SUITE_CPU_EAGER_ATTENTION")


def worker_env() -> dict[str, str]:
    """What trials on every node must see: the shared cache folder and the execution switches set here."""
    return {"SUITE_CACHE": os.environ["SUITE_CACHE"], **{k: os.environ[k] for k in EXECUTION_ENV if k in os.environ}}


_SHARED_RAY: list[bool] = []  # non-empty inside shared_ray(): sessions leave Ray running for the next paper


class shared_ray:
    """One Ray instance for several studies in one process (`suite reproduce all`); shut down on exit."""

    def __enter__(self):
        _SHARED_RAY.append(True)

    def __exit__(self, *exc):
        _SHARED_RAY.pop()
        if not _SHARED_RAY:
            import ray
            if ray.is_initialized():
                ray.shutdown()


class StudySession:
    """The MLflow experiment and (lazily) the Ray connection shared by every stage of one study."""

    def __init__(self, config: SuiteConfig, plan: Plan, ray_address: str | None, out=None, name: str | None = None):
        """``name``: the MLflow experiment (default: the study's, paper-profile); one driver at a time per name.
        ``out``: where our lines go (default: the terminal, while Ray's output goes to runs/logs/)."""
        from mlflow.tracking import MlflowClient
        self.runs_dir = config.runs_dir
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.plan, self.ray_address, self.ray_started = plan, ray_address, False
        self.teacher_experiment_id = None  # where students read teacher logits (default: this experiment)
        self.name = name or tracking.experiment_name(plan.paper, plan.profile)
        self.lock = _study_lock(self.runs_dir, self.name)  # first: a refused driver writes no log, store or Ray
        try:
            self.quiet = QuietTerminal(log_path(self.runs_dir, self.name)).__enter__()
        except BaseException:
            self.lock.close()
            raise
        self.log_path = self.quiet.log_path
        self.out = out or self.quiet.line
        try:
            _, self.profile = config.profile(plan.profile, plan.paper)
            self.uri = tracking.tracking_uri(self.runs_dir)
            check_tracking_server(self.uri)
            tracking.seed_store(self.uri)
            self.client = MlflowClient(self.uri)
            self.experiment_id = tracking.ensure_experiment(self.client, self.name, self.runs_dir / "mlartifacts")
            killed = tracking.mark_killed(self.client, self.experiment_id)
        except BaseException:
            self.quiet.__exit__(None, None, None)
            self.lock.close()
            raise
        if killed:
            self.out(f"{killed} run(s) left RUNNING by an interrupted driver are marked killed; their trials rerun")

    def slots(self) -> int:
        """How many trials run at once: the cluster's CPUs (or GPUs) over a trial's share."""
        import ray
        resources, cluster = self.profile["resources"], ray.cluster_resources()
        if resources["gpus_per_trial"]:
            return max(1, int(cluster.get("GPU", 0) / resources["gpus_per_trial"]))
        return max(1, int(cluster.get("CPU", 1) / resources["cpus_per_trial"]))

    def _start_ray(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("RAY_DEDUP_LOGS", "0")
        os.environ.setdefault("SUITE_CACHE", str(self.runs_dir / "cache"))
        import ray
        if not self.ray_started and ray.is_initialized() and _SHARED_RAY:
            self.ray_started = True  # `suite ... all`: the Ray instance of an earlier paper's session
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

    def run(self, todo: list[TrialSpec], checksums: dict[str, str], scheduler=None, tags: dict | None = None,
            progress: Progress | None = None, teaches: set[str] = frozenset()):
        """The trials as one Tune run; with a ``scheduler`` (ASHA) each trial reports at every evaluation.
        ``progress``: the study's counter across stages (default: one for these trials); ``teaches``: trial ids
        whose train-set logits later trials read (they log them as an artifact)."""
        self._start_ray()
        progress = progress or Progress(len(todo), self.out)
        progress.slots = self.slots()
        from ray import tune

        from pipelines.trial import run_trial  # Ray Tune's worker entry: imported when a study starts
        plan = self.plan
        commit = git_commit()
        run_tags = {"paper": plan.paper, "profile": plan.profile, "git_commit": commit, **(tags or {})}
        provenance = {"git_commit": commit, "packages": package_versions()}  # each run's provenance.json
        arms = memberships(plan)
        specs = [{"config": s.config.to_dict(), "run_name": s.name, "teaches": s.trial_id in teaches,
                  "tags": {**s.tags(), **tracking.membership_tags(arms.get(s.trial_id, {})),
                           "data_sha256": checksums[s.config.task]}} for s in todo]
        resources = self.profile["resources"]
        trainable = tune.with_resources(run_trial,
                                        {"cpu": resources["cpus_per_trial"], "gpu": resources["gpus_per_trial"]})
        tuner = tune.Tuner(
            trainable,
            param_space={"spec": tune.grid_search(specs), "tracking_uri": self.uri,
                         "experiment_id": self.experiment_id, "run_tags": run_tags, "provenance": provenance,
                         "teacher_experiment_id": self.teacher_experiment_id,
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
                callbacks=[progress.callback(), dead_attempts(self.uri, self.experiment_id)],
            ),
        )
        grid = tuner.fit()
        if any(result.error is None and "val_metric" not in (result.metrics or {}) for result in grid):
            # Tune ends its run on the first Ctrl-C (SIGINT) and returns the trials it did not finish (no metric
            # reported, only Tune's own trial_id): stop the study here too, or the next wave or stage would start
            raise KeyboardInterrupt
        return grid

    def close(self) -> None:
        try:
            if self.ray_started and not _SHARED_RAY:
                import ray
                ray.shutdown()
            self.lock.close()  # releases the study lock (the OS releases it too if the driver dies)
        finally:
            self.quiet.__exit__(None, None, None)


def dead_attempts(uri: str, experiment_id: str):
    """A Tune callback: when Ray reports a trial's attempt failed (retried or not), that attempt's MLflow run, left
    RUNNING when its worker died (kill -9, out of memory), is marked FAILED with Ray's reason
    (tracking.fail_attempt). An attempt that raised has already failed its run itself."""
    from ray import tune

    class DeadAttempts(tune.Callback):
        def __getstate__(self):  # Tune pickles its callbacks for restores: the client is made again
            return {}

        def on_trial_recover(self, iteration, trials, trial, **info):
            self.failed(trial, "Ray retries the trial")

        def on_trial_error(self, iteration, trials, trial, **info):
            self.failed(trial, "no attempt left")

        def failed(self, trial, then: str) -> None:
            from mlflow.tracking import MlflowClient
            reason = f"the attempt's worker failed ({then}): {attempt_error(trial)}"
            tracking.fail_attempt(MlflowClient(uri), experiment_id, trial.config["spec"]["tags"]["trial_id"], reason)

    return DeadAttempts()


def attempt_error(trial) -> str:
    """Ray's error for a trial's last attempt, e.g. "ActorDiedError: ... worker died unexpectedly"."""
    try:
        error = trial.get_error()
    except Exception:  # an unreadable error file must not stop the study
        error = None
    return str(error).strip() if error else "Ray gave no error"


def memberships(plan: Plan) -> dict[str, dict[str, str]]:
    """{trial id: {experiment: arm}} over the plan's planned experiments (a trial may serve several; two arms
    of one experiment asking for the same training are joined with '+')."""
    out: dict[str, dict[str, str]] = {}
    for experiment, members in plan.experiments.items():
        for m in members:
            arms = out.setdefault(m.trial_id, {})
            arms[experiment] = m.arm if arms.get(experiment, m.arm) == m.arm else f"{arms[experiment]}+{m.arm}"
    return out


def failed_ids(grid) -> list[str]:
    """Trial ids of the trials that failed on every attempt (from their config: a failed trial's last result may
    carry Ray's own trial_id, not ours)."""
    return [r.config["spec"]["tags"]["trial_id"] for r in grid if r.error]


def _study_lock(runs_dir, name: str):
    """One driver per MLflow experiment and runs folder, so RUNNING runs found at start are known to be dead.
    The file holds the holder's PID: it is opened without truncating and rewritten only once the lock is ours."""
    import fcntl
    path = runs_dir / f".{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StudyLocked(f"another driver (pid {holder}, lock {path}) is running {name}; wait for it or stop it "
                          f"first") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return os.fdopen(fd, "w")  # closing it releases the lock
