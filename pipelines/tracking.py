"""MLflow: one experiment per (paper, profile), one run per trial. Nothing else in the suite talks to MLflow."""
from __future__ import annotations

import csv
import functools
import io
import os
import sqlite3
import time
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars between the report's lines

LOG_CHUNK = 900  # MLflow accepts at most 1000 metrics per log_batch
# MLflow 3 UI: a training experiment, not a GenAI one (no "Traces / Detect Issues" overview, no type prompt).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
# MLflow 3.17 keeps its GenAI / model-training toggle per browser (GenAI until a person switches; `suite ui` makes
# model training the default, pipelines.ui_server) and this query overrides it: every link the suite prints carries
# it, so the runs open in model training on a tracking server and in a browser that chose GenAI too.
ML_VIEW = "workflowType=machine_learning"

# Metric names at the MLflow boundary. Inside the suite (the trainers' results, the runs frame that reports read,
# the report bundles in docs/examples) names stay short and task-agnostic: val_metric, best_val, lr_schedule. In
# MLflow a person reads them without a tag to decode: the task's metric in the name (val_accuracy,
# best_val_accuracy), the learning rate as learning_rate, the blocks' weight change grouped in one chart section,
# and worker memory under system/ (MLflow's section for machine metrics). Only letters, digits, "_" and "/" (the
# UI's chart-section separator): valid in every store. Only this module sees the MLflow names; reading accepts
# the earlier ones too (FRAME_CURVES, the raw keys), so stores written by earlier versions still report.
FRAME_CURVES = {"lr": "lr_schedule"}  # a trainer's curve under the frame's name ("lr" is the peak-rate param)
MLFLOW_NAMES = {"lr_schedule": "learning_rate", "val_metric": "val_{m}", "best_val": "best_val_{m}",
                "test_at_best_val": "test_{m}_at_best_val", "test_last": "test_{m}_last",
                "worker_rss_mb": "system/worker_rss_megabytes",
                "worker_rss_untrimmed_mb": "system/worker_rss_untrimmed_megabytes"}
# ||weights - their values when fine-tuning started|| of one Transformer block (trainers.param_distance): the
# pre-trained values, or a Re-init block's fresh ones
BLOCK_CHANGE = ("l2_block_", "weight_change_l2/block_")
AT_BEST = "_at_best_val"  # a final metric named like a curve: that curve's value at the best validation step
UNKNOWN_METRIC = "score"  # a run without a val_metric_name tag (benchmarks, old tests)


def mlflow_name(frame_name: str, task_metric: str) -> str:
    """MLflow's name of a metric or curve the runs frame calls ``frame_name`` (MLFLOW_NAMES)."""
    if frame_name.startswith(BLOCK_CHANGE[0]):
        return BLOCK_CHANGE[1] + frame_name[len(BLOCK_CHANGE[0]):]
    return MLFLOW_NAMES.get(frame_name, frame_name).format(m=task_metric)


@functools.lru_cache(maxsize=None)
def _frame_names(task_metric: str) -> dict[str, str]:
    """{MLflow name: frame name} for a task's metric (a handful of metrics: made once, read for every run)."""
    return {template.format(m=task_metric): frame for frame, template in MLFLOW_NAMES.items()}


def frame_name(name: str, task_metric: str) -> str:
    """The runs frame's name of an MLflow metric: this version's names mapped back, earlier ones as they are."""
    if name.startswith(BLOCK_CHANGE[1]):
        return BLOCK_CHANGE[0] + name[len(BLOCK_CHANGE[1]):]
    back = _frame_names(task_metric)
    if name in back:
        return back[name]
    if name in MLFLOW_NAMES:  # an earlier version logged the frame's own name (test_at_best_val ends like AT_BEST)
        return name
    return name.removesuffix(AT_BEST) if name.endswith(AT_BEST) else name


def last_point_name(curve: str) -> str | None:
    """The final metric that is, by construction, a curve's last point (trainers.loop: val_last is the last
    evaluation, val_last_sst the last of curve val_sst): not logged, read back from the curve."""
    if curve == "val_metric":
        return "val_last"
    return "val_last_" + curve[len("val_"):] if curve.startswith("val_") else None


def final_metrics(metrics: dict, curves: dict, task_metric: str) -> dict[str, float]:
    """A trial's final metrics under their MLflow names, less those that repeat a curve's last point."""
    curves = {FRAME_CURVES.get(k, k): v for k, v in curves.items() if v}
    repeated = {last_point_name(c) for c in curves}
    out = {}
    for key, value in metrics.items():
        if key in repeated:
            continue
        name = mlflow_name(key, task_metric)
        out[name + AT_BEST if key in curves else name] = float(value)
    return out


def frame_metrics(metrics: dict[str, float], task_metric: str) -> dict[str, float]:
    """A run's latest metrics under the runs frame's names, from this version's MLflow names or an earlier one's;
    the final metrics that repeat a curve's last point (last_point_name) are read from the curve."""
    out = {}
    for name, value in metrics.items():
        if name + AT_BEST in metrics:  # its value at the best step is logged apart: its latest is the last one
            out[last_point_name(name)] = value
        else:
            out[frame_name(name, task_metric)] = value
    val = mlflow_name("val_metric", task_metric)
    if val in metrics:
        out.setdefault("val_last", metrics[val])
    return out


def legacy_at_best(client: MlflowClient, run_id: str, metrics: dict[str, float]) -> dict[str, float]:
    """A multitask run written before the final metrics took AT_BEST logged ``val_sst`` (its value at the best
    epoch) under its curve's name, at step 0 after the curve's points (steps >= 1): MLflow's latest value is then
    the curve's last epoch. Such runs show ``val_last_sst`` beside it; their best-epoch value is read back here."""
    out = {}
    for name in metrics:
        part = name[len("val_"):]
        if name.startswith("val_") and f"val_last_{part}" in metrics and name + AT_BEST not in metrics:
            final = [m for m in client.get_metric_history(run_id, name) if m.step == 0]
            if final:
                out[name] = max(final, key=lambda m: m.timestamp).value
    return out


def task_metric_of(tags: dict) -> str:
    return tags.get("val_metric_name") or UNKNOWN_METRIC


def ui_link(base_url: str, experiment_id: str) -> str:
    """An experiment's runs in the MLflow UI, in the model-training view (ML_VIEW)."""
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}?{ML_VIEW}"


def tracking_uri(runs_dir: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{runs_dir / 'mlflow.db'}"


def seed_store(uri: str) -> None:
    """A local sqlite store about to be created starts as a copy of an empty one kept per MLflow version under the
    user's cache (~/.cache/bert-suite): creating a store runs MLflow's schema migrations one by one (4 s on 2 cores),
    a copy takes milliseconds. Any other URI, or a store that exists, is left alone."""
    import shutil

    import mlflow
    path = Path(uri.removeprefix("sqlite:///"))
    if not uri.startswith("sqlite:///") or path.exists():
        return
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bert-suite"
    template = cache / f"mlflow-{mlflow.__version__}.db"
    if not template.exists():
        cache.mkdir(parents=True, exist_ok=True)
        fresh = cache / f"mlflow-{mlflow.__version__}.{os.getpid()}.db"
        MlflowClient(f"sqlite:///{fresh}").search_experiments()  # creates and migrates the schema
        os.replace(fresh, template)  # atomic: a concurrent driver copies a complete template or makes its own
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    _home_default_experiment(path, path.parent / "mlartifacts" / "Default")


def _home_default_experiment(store: Path, artifacts: Path) -> None:
    """MLflow makes an experiment "Default" (id 0) in every store, its artifacts under ./mlruns/0 of whatever folder
    the store was first made in (the template's: a checkout, outside runs/). The suite never logs there; its
    artifact location moves beside the store's other artifacts so nothing can land outside them."""
    with sqlite3.connect(store) as db:
        db.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0", (artifacts.as_uri(),))
    db.close()


def experiment_name(paper: str, profile: str) -> str:
    return f"{paper}-{profile}"


def is_server(uri: str) -> bool:
    """An MLflow tracking server (make mlflow-server), not a local store."""
    return uri.startswith(("http://", "https://"))


def ensure_experiment(client: MlflowClient, name: str, artifact_root: Path) -> str:
    """A tracking server keeps artifacts where it was told to (make mlflow-server); a local store under runs/.
    The experiment declares itself a model-training one (EXPERIMENT_KIND), also when an older suite created it."""
    key, kind = EXPERIMENT_KIND
    exp = client.get_experiment_by_name(name)
    if exp is None:
        local = None if is_server(client.tracking_uri) else (artifact_root / name).as_uri()
        return client.create_experiment(name, artifact_location=local, tags={key: kind})
    if key not in exp.tags:
        client.set_experiment_tag(exp.experiment_id, key, kind)
    return exp.experiment_id


def all_runs(client: MlflowClient, experiment_id: str, filter_string: str = ""):
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string, max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def finished_trial_ids(client: MlflowClient, experiment_id: str) -> set[str]:
    runs = all_runs(client, experiment_id, "attributes.status = 'FINISHED'")
    return {r.data.tags["trial_id"] for r in runs if "trial_id" in r.data.tags}


def membership_tags(arms: dict[str, str]) -> dict[str, str]:
    """Which experiments of the paper use a trial and in which arm ({experiment: arm}): ``exp.<experiment>`` per
    experiment (search the UI with tags.`exp.reinit` = 'standard'), plus the ``experiments`` list (the arms are
    the exp.* tags' values: no second list)."""
    arms = dict(sorted(arms.items()))
    return {"experiments": ",".join(arms), **{f"exp.{e}": a for e, a in arms.items()}}


REPEATED_TAGS = ("arms",)  # written by earlier versions: the exp.* tags say the same


def add_memberships(client: MlflowClient, experiment_id: str, arms: dict[str, dict[str, str]]) -> int:
    """Runs of trials ({trial id: {experiment: arm}}) that a later stage's experiments use too: add those
    experiments to their membership tags. Returns how many runs were updated."""
    updated = 0
    for run in all_runs(client, experiment_id):
        tags = run.data.tags
        wanted = arms.get(tags.get("trial_id"))
        if not wanted:
            continue
        known = {k[len("exp."):]: v for k, v in tags.items() if k.startswith("exp.")}
        merged = {**known, **{e: a for e, a in wanted.items() if e not in known}}
        if merged != known:
            client.log_batch(run.info.run_id, tags=[RunTag(k, v) for k, v in membership_tags(merged).items()])
            for key in REPEATED_TAGS:  # an earlier version's list would go stale
                if key in tags:
                    client.delete_tag(run.info.run_id, key)
            updated += 1
    return updated


def config_params(config: dict, pools: dict[str, int] | None = None) -> dict:
    """A training config (TrainConfig.to_dict()) as run params: each objective and multitask argument its own param
    (objective.alpha, multitask.train_tasks), empty settings left out. ``pools``: a multitask run's training
    examples per task pool (train_examples.sst, ...) in place of train_examples and part_examples, the caps it
    applied per pool (their sum is the run's train_examples metric)."""
    nested = ("objective_args", "multitask_args", "part_examples")
    params = {k: v for k, v in config.items() if k not in nested}
    params.update({f"objective.{k}": v for k, v in config.get("objective_args") or ()})
    params.update({f"multitask.{k}": v for k, v in config.get("multitask_args") or ()})
    if pools:
        del params["train_examples"]
        params.update({f"train_examples.{part}": n for part, n in pools.items()})
    return params


def start_run(client: MlflowClient, experiment_id: str, run_name: str, tags: dict, params: dict,
              config: dict | None = None, provenance: dict | None = None) -> str:
    """A run with its tags (identity: trial id, task, seeds, experiments and arms, ...) and its params
    (config_params: the training config's set fields, each once; a field that is also a tag, or None, is not a
    param). ``config``: written as the run's config.json artifact; ``provenance`` (where and with what it ran:
    packages, execution switches, node, worker) as provenance.json, out of the tags panel."""
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in sorted(params.items())
                                              if v is not None and k not in tags])
    if config is not None:
        client.log_dict(run.info.run_id, config, "config.json")
    if provenance is not None:
        client.log_dict(run.info.run_id, provenance, "provenance.json")
    return run.info.run_id


def _task_metric(client: MlflowClient, run_id: str, task_metric: str | None) -> str:
    return task_metric or task_metric_of(client.get_run(run_id).data.tags)


def log_curves(client: MlflowClient, run_id: str, curves: dict, logged: dict[str, int],
               task_metric: str | None = None) -> None:
    """The curve points not logged yet (``logged``: points per curve already sent), in batches, under their MLflow
    names. ``task_metric``: what val_metric measures (default: the run's val_metric_name tag)."""
    now = int(time.time() * 1000)
    metrics = []
    for name, points in curves.items():
        if len(points) > logged.get(name, 0):
            task_metric = _task_metric(client, run_id, task_metric)
            key = mlflow_name(FRAME_CURVES.get(name, name), task_metric)
            metrics += [Metric(key, float(value), now, int(step)) for step, value in points[logged.get(name, 0):]]
        logged[name] = len(points)
    for start in range(0, len(metrics), LOG_CHUNK):
        client.log_batch(run_id, metrics=metrics[start:start + LOG_CHUNK])


def curves_csv(curves: dict, task_metric: str) -> str:
    """Every curve point as metric,step,value rows (readable without MLflow), under the MLflow names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "step", "value"])
    for name, points in curves.items():
        key = mlflow_name(FRAME_CURVES.get(name, name), task_metric)
        writer.writerows([key, int(step), repr(float(value))] for step, value in points)
    return out.getvalue()


def finish_run(client: MlflowClient, run_id: str, result: dict, logged: dict[str, int] | None = None,
               task_metric: str | None = None) -> None:
    """Remaining curve points and final metrics (final_metrics: MLflow names, no repeated last points) in batches,
    the curves and final metrics as artifacts (curves.csv, metrics.json), the outcome tag, then FINISHED (diverged
    runs are results too)."""
    task_metric = _task_metric(client, run_id, task_metric)
    log_curves(client, run_id, result["curves"], {} if logged is None else logged, task_metric)
    now = int(time.time() * 1000)
    final = final_metrics(result["metrics"], result["curves"], task_metric)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in final.items()])
    client.log_text(run_id, curves_csv(result["curves"], task_metric), "curves.csv")
    client.log_dict(run_id, {"outcome": result["outcome"], **final}, "metrics.json")
    client.log_batch(run_id, tags=[RunTag("outcome", result["outcome"])])
    client.set_terminated(run_id, "FINISHED")


def log_worker_memory(client: MlflowClient, run_id: str, rss_before_mb: float, rss_mb: float) -> None:
    """The worker's resident memory after the trial (Ray reuses workers across trials: the run's ``worker`` tag
    says which), before and after freed heap went back to the OS; MLflow's system/ section."""
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(mlflow_name(k, UNKNOWN_METRIC), float(v), now, 0) for k, v in
                                      (("worker_rss_mb", rss_mb), ("worker_rss_untrimmed_mb", rss_before_mb))])


def stop_run(client: MlflowClient, run_id: str, evaluations: int) -> None:
    """An ASHA-stopped trial: its logged curves are kept; KILLED keeps it out of every finished-runs statistic."""
    client.log_batch(run_id, tags=[RunTag("outcome", "early_stopped"),
                                   RunTag("evaluations_reached", str(evaluations))])  # param evaluations: planned
    client.set_terminated(run_id, "KILLED")


def fail_run(client: MlflowClient, run_id: str, error: str) -> None:
    client.log_batch(run_id, tags=[RunTag("outcome", "failed"), RunTag("error", error[:4000])])
    client.set_terminated(run_id, "FAILED")


def fail_attempt(client: MlflowClient, experiment_id: str, trial_id: str, reason: str) -> int:
    """Runs of a trial left RUNNING by an attempt whose worker died (kill -9, out of memory: no Python left to end
    them) when Ray reports the failure: FAILED with the reason. Ray retries a trial only after this, and the study
    lock keeps other drivers out, so a RUNNING run of the trial is the dead attempt's. Returns how many."""
    stale = list(all_runs(client, experiment_id, f"tags.trial_id = '{trial_id}' and attributes.status = 'RUNNING'"))
    for run in stale:
        fail_run(client, run.info.run_id, reason)
    return len(stale)


def mark_killed(client: MlflowClient, experiment_id: str) -> int:
    """Runs left RUNNING by a driver that died (SIGKILL, power loss): tag them killed and end them as KILLED.
    Called before a study starts; the study lock guarantees no other driver owns them."""
    stale = list(all_runs(client, experiment_id, "attributes.status = 'RUNNING'"))
    for run in stale:
        client.log_batch(run.info.run_id, tags=[RunTag("outcome", "killed")])
        client.set_terminated(run.info.run_id, "KILLED")
    return len(stale)


def failed_trials(client: MlflowClient, experiment_id: str) -> dict[str, str]:
    """{trial id: last error line} for trials whose every attempt failed (none finished)."""
    finished = finished_trial_ids(client, experiment_id)
    out = {}
    for run in all_runs(client, experiment_id, "attributes.status = 'FAILED'"):
        trial = run.data.tags.get("trial_id")
        if trial and trial not in finished:
            lines = [x for x in run.data.tags.get("error", "").strip().splitlines() if x.strip()]
            out[trial] = lines[-1] if lines else "failed"
    return out


def runs_frame(client: MlflowClient, experiment_id: str) -> pd.DataFrame:
    """Finished runs as one row each (the latest per trial id): tags, params (p.*) and final metrics."""
    rows = []
    for run in all_runs(client, experiment_id, "attributes.status = 'FINISHED'"):
        row = {"run_id": run.info.run_id, "end_time": run.info.end_time, **run.data.tags}
        row.update({f"p.{k}": v for k, v in run.data.params.items()})
        row.update(frame_metrics(run.data.metrics, task_metric_of(run.data.tags)))
        row.update(legacy_at_best(client, run.info.run_id, run.data.metrics))
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["trial_id", "run_id"])
    frame = pd.DataFrame(rows).sort_values(["trial_id", "end_time"])
    return frame.drop_duplicates("trial_id", keep="last").reset_index(drop=True)


def metric_histories(client: MlflowClient, run_ids: dict[str, str], key: str) -> dict[str, list[tuple[int, float]]]:
    """{trial id: [(step, value), ...]} for one metric of the given runs ({trial id: run id}); ``key``: the runs
    frame's name (val_metric, l2_block_1), read under this version's MLflow name or, failing that, as it is."""
    return {trial: sorted((m.step, m.value) for m in _history(client, run_id, key))
            for trial, run_id in run_ids.items()}


def _history(client: MlflowClient, run_id: str, key: str) -> list:
    task_metric = UNKNOWN_METRIC
    if "{m}" in MLFLOW_NAMES.get(key, ""):  # its name says the task's metric: the run's tag tells which
        task_metric = task_metric_of(client.get_run(run_id).data.tags)
    name = mlflow_name(key, task_metric)
    return (client.get_metric_history(run_id, name) if name != key else []) or client.get_metric_history(run_id, key)


def _study_experiment(config, plan):
    if not (config.runs_dir / "mlflow.db").exists() and not os.environ.get("MLFLOW_TRACKING_URI"):
        return None, None  # nothing has run: do not create a store
    client = MlflowClient(tracking_uri(config.runs_dir))
    experiment = client.get_experiment_by_name(experiment_name(plan.paper, plan.profile))
    return client, experiment


def load_runs(config, plan) -> pd.DataFrame:
    """The finished-runs frame of a plan's (paper, profile) MLflow experiment; empty when there is none yet."""
    client, experiment = _study_experiment(config, plan)
    return (pd.DataFrame(columns=["trial_id", "run_id"]) if experiment is None
            else runs_frame(client, experiment.experiment_id))


UI_URL = "http://127.0.0.1:5000"  # where `make ui` (suite ui) serves a local store
# MLflow 3's server job runner (GenAI scorers and trace rollups: eight more processes, each importing MLflow, and a
# start twice as slow on 2 cores) serves nothing the suite's runs use.
UI_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
UI_APP = "suite-ui"  # the MLflow app `make ui` serves (pipelines.ui_server; an mlflow.app entry point, pyproject.toml)


def study_link(config, plan) -> str | None:
    """The link to a study's runs in the MLflow UI (a tracking server's own, else `make ui`'s); None before any run."""
    client, experiment = _study_experiment(config, plan)
    if experiment is None:
        return None
    return ui_link(client.tracking_uri if is_server(client.tracking_uri) else UI_URL, experiment.experiment_id)


def ui_links(uri: str, base_url: str) -> list[tuple[str, str, int]]:
    """(experiment, link to its runs, runs) for every experiment of the store with a run, by name."""
    client = MlflowClient(uri)
    out = []
    for exp in sorted(client.search_experiments(), key=lambda e: e.name):
        runs = sum(1 for _ in all_runs(client, exp.experiment_id))
        if runs:
            out.append((exp.name, ui_link(base_url, exp.experiment_id), runs))
    return out


def load_failed(config, plan) -> dict[str, str]:
    """{trial id: last error line} of the study's trials that failed on every attempt."""
    client, experiment = _study_experiment(config, plan)
    return {} if experiment is None else failed_trials(client, experiment.experiment_id)


TRAIN_LOGITS = "train_logits.npz"  # a teacher trial's logits over its training split, read by the trials it teaches
PART_PREFIX = "part_"  # a multitask teacher's arrays, one per task: part_sst, part_para, part_sts


def log_train_logits(client: MlflowClient, run_id: str, logits, labels_digest: str) -> None:
    """The artifact every student (on any Ray node) reads instead of rerunning the teacher; the tag marks the run
    as carrying it (and which training split it is for). A multitask teacher's ``logits`` are per task:
    {part: predictions}."""
    import tempfile

    import numpy as np
    arrays = ({f"{PART_PREFIX}{k}": np.asarray(v, dtype=np.float32) for k, v in logits.items()}
              if isinstance(logits, dict) else {"logits": np.asarray(logits, dtype=np.float32)})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / TRAIN_LOGITS
        np.savez(path, labels_digest=np.asarray(labels_digest), **arrays)
        client.log_artifact(run_id, str(path))
    client.set_tag(run_id, "train_logits", labels_digest)


def teachers_ready(client: MlflowClient, experiment_id: str) -> set[str]:
    """Trial ids with a finished run that carries its train-set logits."""
    runs = all_runs(client, experiment_id, "attributes.status = 'FINISHED'")
    return {r.data.tags["trial_id"] for r in runs if "trial_id" in r.data.tags and "train_logits" in r.data.tags}


def read_train_logits(client: MlflowClient, experiment_ids: str | list, trial_id: str):
    """(logits, labels digest) of a finished teacher trial, from its latest run carrying them (in any of the
    experiments: a search's students read the study's teachers and their own)."""
    import tempfile

    import numpy as np
    from mlflow.artifacts import download_artifacts
    ids = [experiment_ids] if isinstance(experiment_ids, str) else [i for i in experiment_ids if i]
    runs = [r for experiment_id in dict.fromkeys(ids)
            for r in all_runs(client, experiment_id, f"tags.trial_id = '{trial_id}' and "
                                                     f"attributes.status = 'FINISHED'")
            if "train_logits" in r.data.tags]
    if not runs:
        raise LookupError(f"teacher trial {trial_id} has no finished run with {TRAIN_LOGITS}")
    run = max(runs, key=lambda r: r.info.end_time)
    with tempfile.TemporaryDirectory() as folder:
        path = download_artifacts(run_id=run.info.run_id, artifact_path=TRAIN_LOGITS, dst_path=folder,
                                  tracking_uri=client.tracking_uri)
        with np.load(path) as data:
            parts = {k[len(PART_PREFIX):]: data[k] for k in data.files if k.startswith(PART_PREFIX)}
            return parts or data["logits"], str(data["labels_digest"])


OUTPUTS = "outputs.npz"  # a trial's final validation and test logits (Xu et al.'s VOTE, Eq. 2)
WEIGHTS = "weights.pt"  # its final state_dict (AVG, Eq. 3)


def log_outputs(client: MlflowClient, run_id: str, outputs: dict) -> None:
    """What the analysis stage combines across seeds without training again: the final logits (a multitask run:
    its per-task predictions) and, where given (``state``), the weights."""
    import tempfile

    import numpy as np
    import torch
    with tempfile.TemporaryDirectory() as folder:
        np.savez(Path(folder) / OUTPUTS, **{k: v for k, v in outputs.items() if k != "state"})
        if "state" in outputs:
            torch.save(outputs["state"], Path(folder) / WEIGHTS)
        client.log_artifacts(run_id, folder)
    client.set_tag(run_id, "outputs", "logits+weights" if "state" in outputs else "predictions")


def read_outputs(client: MlflowClient, run_id: str, weights: bool = False) -> dict:
    """A finished run's final logits ({val_logits, test_logits}) and, with ``weights``, its state_dict."""
    import tempfile

    import numpy as np
    import torch
    from mlflow.artifacts import download_artifacts
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in (OUTPUTS, WEIGHTS) if weights else (OUTPUTS,):
            path = download_artifacts(run_id=run_id, artifact_path=name, dst_path=folder,
                                      tracking_uri=client.tracking_uri)
            if name == OUTPUTS:
                with np.load(path) as data:
                    out.update({k: data[k] for k in data.files})
            else:
                out["state"] = torch.load(path, map_location="cpu", weights_only=True)
    return out
