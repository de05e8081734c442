"""MLflow: one experiment per (paper, profile), one run per trial. Nothing else in the suite talks to MLflow."""
from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars between the report's lines

LOG_CHUNK = 900  # MLflow accepts at most 1000 metrics per log_batch
# MLflow 3 UI: a training experiment, not a GenAI one (no "Traces / Detect Issues" overview, no type prompt).
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
# A curve logged under another name: "lr" is already the param (the peak learning rate); its schedule is a curve.
CURVE_METRICS = {"lr": "lr_schedule"}


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
    experiment (search the UI with tags.`exp.reinit` = 'standard'), plus ``experiments`` and ``arms`` lists."""
    arms = dict(sorted(arms.items()))
    return {"experiments": ",".join(arms), "arms": ",".join(f"{e}:{a}" for e, a in arms.items()),
            **{f"exp.{e}": a for e, a in arms.items()}}


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
            updated += 1
    return updated


def start_run(client: MlflowClient, experiment_id: str, run_name: str, tags: dict, params: dict,
              config: dict | None = None) -> str:
    """A run with its tags (identity: trial id, task, seeds, experiments and arms, ...) and its params: the
    training config's set fields, each once (a field that is also a tag, or None, is not a param).
    ``config``: written as the run's config.json artifact."""
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in sorted(params.items())
                                              if v is not None and k not in tags])
    if config is not None:
        client.log_dict(run.info.run_id, config, "config.json")
    return run.info.run_id


def log_curves(client: MlflowClient, run_id: str, curves: dict, logged: dict[str, int]) -> None:
    """The curve points not logged yet (``logged``: points per curve already sent), in batches."""
    now = int(time.time() * 1000)
    metrics = []
    for name, points in curves.items():
        key = CURVE_METRICS.get(name, name)
        metrics += [Metric(key, float(value), now, int(step)) for step, value in points[logged.get(name, 0):]]
        logged[name] = len(points)
    for start in range(0, len(metrics), LOG_CHUNK):
        client.log_batch(run_id, metrics=metrics[start:start + LOG_CHUNK])


def curves_csv(curves: dict) -> str:
    """Every curve point as metric,step,value rows (the report's inputs, readable without MLflow)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", "step", "value"])
    for name, points in curves.items():
        writer.writerows([CURVE_METRICS.get(name, name), int(step), repr(float(value))] for step, value in points)
    return out.getvalue()


def finish_run(client: MlflowClient, run_id: str, result: dict, logged: dict[str, int] | None = None) -> None:
    """Remaining curve points and final metrics in batches, the curves and final metrics as artifacts
    (curves.csv, metrics.json), the outcome tag, then FINISHED (diverged runs are results too)."""
    log_curves(client, run_id, result["curves"], {} if logged is None else logged)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in result["metrics"].items()])
    client.log_text(run_id, curves_csv(result["curves"]), "curves.csv")
    client.log_dict(run_id, {"outcome": result["outcome"], **{k: float(v) for k, v in result["metrics"].items()}},
                    "metrics.json")
    client.log_batch(run_id, tags=[RunTag("outcome", result["outcome"])])
    client.set_terminated(run_id, "FINISHED")


def log_worker_memory(client: MlflowClient, run_id: str, pid: int, rss_before_mb: float, rss_mb: float) -> None:
    """Which worker process ran the trial (Ray reuses workers across trials) and its resident memory after the
    trial, before and after freed heap went back to the OS."""
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric("worker_rss_mb", float(rss_mb), now, 0),
                                      Metric("worker_rss_untrimmed_mb", float(rss_before_mb), now, 0)],
                     tags=[RunTag("worker_pid", str(pid))])


def stop_run(client: MlflowClient, run_id: str, evaluations: int) -> None:
    """An ASHA-stopped trial: its logged curves are kept; KILLED keeps it out of every finished-runs statistic."""
    client.log_batch(run_id, tags=[RunTag("outcome", "early_stopped"),
                                   RunTag("evaluations_reached", str(evaluations))])  # param evaluations: planned
    client.set_terminated(run_id, "KILLED")


def fail_run(client: MlflowClient, run_id: str, error: str) -> None:
    client.log_batch(run_id, tags=[RunTag("outcome", "failed"), RunTag("error", error[:4000])])
    client.set_terminated(run_id, "FAILED")


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
        row.update(run.data.metrics)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["trial_id", "run_id"])
    frame = pd.DataFrame(rows).sort_values(["trial_id", "end_time"])
    return frame.drop_duplicates("trial_id", keep="last").reset_index(drop=True)


def metric_histories(client: MlflowClient, run_ids: dict[str, str], key: str) -> dict[str, list[tuple[int, float]]]:
    """{trial id: [(step, value), ...]} for one metric of the given runs ({trial id: run id})."""
    return {trial: sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))
            for trial, run_id in run_ids.items()}


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
