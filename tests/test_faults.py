"""Faults: a killed driver resumes to the same report, a failing trial is retried then recorded, a second driver
on the same study is refused."""
import json
import re
import signal
import time
from pathlib import Path

import pytest
from helpers import finished_runs
from helpers import study_config as _config
from helpers import suite as _suite
from mlflow.tracking import MlflowClient


def _runs(root: Path):
    client = MlflowClient(f"sqlite:///{root / 'runs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("revisiting-smoke")
    return client.search_runs([exp.experiment_id], max_results=1000)


HOURS = re.compile(rb'(about|over) [0-9.e+-]+ trial-hours|"hours_(needed|per_pair)": [0-9.e+-]+')


def _report(runs_dir: Path) -> dict:
    """The report folder's files, less the runs frame in data/ (each run's id, end time and worker; a store's other
    experiments' columns) and its column types in data/manifest.json, and with the trial-hours an undecided claim's
    seeds would cost masked: a measured duration, not a result."""
    folder = runs_dir / "reports" / "revisiting-smoke"
    files = {str(p.relative_to(folder)): HOURS.sub(b"<hours>", p.read_bytes())
             for p in sorted(folder.rglob("*")) if p.is_file()}
    del files["data/runs.csv.gz"]
    files["data/manifest.json"] = {k: v for k, v in json.loads(files["data/manifest.json"]).items()
                                   if k != "runs_dtypes"}
    return files


def test_killed_driver_resumes_and_reports_as_if_uninterrupted(killed_and_resumed, study, tmp_path, monkeypatch):
    """The study killed and resumed is conftest's killed_and_resumed; the same trials uninterrupted are the session's
    smoke study (conftest's study: same seeds, same numbers), whose bias_correction report is built here."""
    from pipelines.config import load
    from pipelines.selection import resolved_plan
    from reports.build import build_report
    runs_dir, resumed = killed_and_resumed
    out = resumed.stdout
    # A Ray worker may still land the trial it was finishing as the driver died: count at the rerun.
    done_before = int(re.search(r"8 of them runnable here: (\d) already finished in MLflow", out).group(1))
    assert 3 <= done_before < 8 and f"{8 - done_before} to run" in out
    after = _runs(runs_dir.parent)
    finished = [r.data.tags["trial_id"] for r in after if r.info.status == "FINISHED"]
    assert len(finished) == len(set(finished)) == 8  # exactly one finished run per trial id
    stale = [r for r in after if r.info.status != "FINISHED"]
    assert all(r.info.status == "KILLED" and r.data.tags["outcome"] == "killed" for r in stale)
    if stale:
        assert f"{len(stale)} run(s) left RUNNING by an interrupted driver are marked killed" in out
    _, smoke_runs, _ = study
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{smoke_runs / 'mlflow.db'}")
    clean = load(_config(tmp_path))  # reports under tmp_path, runs read from the smoke study's store
    build_report(clean, resolved_plan(clean, "revisiting", "smoke", ["bias_correction"]))
    assert _report(runs_dir) == _report(tmp_path / "runs")


@pytest.mark.study
def test_failing_trial_is_retried_then_recorded_and_the_study_goes_on(tmp_path):
    def mutate(data):
        smoke = data["profiles"]["smoke"]["papers"]["revisiting"]
        smoke["tasks"], smoke["seeds"]["table"] = ["RTE"], 1  # one seed: every failed attempt costs a new worker
        smoke["grids"]["reinit.reinit.reinit"] = [2]  # two blocks of a one-block model: raises in every attempt
    config = _config(tmp_path, mutate)
    proc = _suite(config, "reproduce", "revisiting", "--profile", "smoke", "--experiments", "reinit")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1
    assert "suite: 1 trial(s) failed" in err and "report written" in out
    runs = _runs(tmp_path)
    failed = [r for r in runs if r.info.status == "FAILED"]
    assert len(failed) == 1 * 2  # the trial, tried 1 + retries (1) times
    assert all("cannot re-initialise 2 blocks of a 1-block model" in r.data.tags["error"] for r in failed)
    assert sum(r.info.status == "FINISHED" for r in runs) == 2  # standard and pooler
    report = (tmp_path / "runs" / "reports" / "revisiting-smoke" / "report.md").read_text()
    assert "1 failed on every attempt: ValueError: cannot re-initialise 2 blocks of a 1-block model" in report


def test_an_attempt_whose_worker_died_is_marked_failed_when_ray_reports_it(tmp_path):
    """A worker killed mid-trial (kill -9) leaves its run RUNNING; when Ray reports the attempt failed (and retries
    it, or gives up), the driver's callback ends that run FAILED with Ray's reason. Runs of other trials are left."""
    from types import SimpleNamespace

    from pipelines import tracking
    from pipelines.driver import dead_attempts
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment_id = tracking.ensure_experiment(client, "revisiting-smoke", tmp_path / "mlartifacts")
    dead = tracking.start_run(client, experiment_id, "RTE s1 adamw", {"trial_id": "t1"}, {})
    other = tracking.start_run(client, experiment_id, "RTE s2 adamw", {"trial_id": "t2"}, {})

    def trial(trial_id):
        return SimpleNamespace(config={"spec": {"tags": {"trial_id": trial_id}}},
                               get_error=lambda: RuntimeError("ActorDiedError: the worker died unexpectedly"))
    callback = dead_attempts(uri, experiment_id)
    callback.on_trial_recover(iteration=1, trials=[], trial=trial("t1"))
    run = client.get_run(dead)
    assert run.info.status == "FAILED" and run.data.tags["outcome"] == "failed"
    assert "Ray retries the trial" in run.data.tags["error"] and "worker died unexpectedly" in run.data.tags["error"]
    assert client.get_run(other).info.status == "RUNNING"
    callback.on_trial_error(iteration=2, trials=[], trial=trial("t1"))  # nothing RUNNING left of t1: no change
    assert client.get_run(dead).data.tags["error"] == run.data.tags["error"]


def test_second_driver_on_the_same_study_is_refused(tmp_path, capsys):
    """The refused driver names the holder and writes nothing: the holder's PID stays in the lock file, and no log,
    MLflow store or Ray folder appears."""
    import fcntl

    from pipelines.cli import main
    config = _config(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    lock = runs / ".revisiting-smoke.lock"
    with open(lock, "w") as held:  # flock: another open file conflicts, in this process too
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("4242")
        held.flush()
        code = main(["run", "revisiting", "--profile", "smoke", "--experiments", "bias_correction",
                     "--config", str(config)])
        assert lock.read_text() == "4242"
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"suite: error: another driver (pid 4242, lock {lock}) is running revisiting-smoke; wait for it or stop it "
        f"first"]
    assert [p.name for p in runs.iterdir()] == [lock.name]


@pytest.mark.study
def test_ctrl_c_stops_the_study_at_once_and_says_how_to_resume(tmp_path):
    """Ray Tune takes the first SIGINT to end its run gracefully and returns; the driver must stop there too, not
    go on to the next wave or stage, nor write a report as if the study had finished."""
    cfg = _config(tmp_path)
    proc = _suite(cfg, "reproduce", "revisiting", "--profile", "smoke", "--experiments", "bias_correction")
    deadline = time.monotonic() + 300
    while finished_runs(tmp_path / "runs" / "mlflow.db") < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # the driver only, as a terminal's Ctrl-C reaches it first
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, (out[-2000:], err[-2000:])
    assert "suite: interrupted; finished trials are kept in MLflow and rerunning resumes" in err
    assert "report written" not in out and "trials: 8 ran" not in out
    assert finished_runs(tmp_path / "runs" / "mlflow.db") < 8
