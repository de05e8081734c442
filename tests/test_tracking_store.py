"""A new local MLflow store starts as a copy of an empty, migrated one kept per MLflow version."""
import sqlite3

import mlflow
from mlflow.tracking import MlflowClient

from pipelines import tracking


def _schema(db) -> list:
    with sqlite3.connect(db) as con:
        return con.execute("select sql from sqlite_master order by name").fetchall() + con.execute(
            "select version_num from alembic_version").fetchall()


def test_a_new_store_is_a_copy_of_the_cached_template_and_an_existing_one_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "a" / "mlflow.db", tmp_path / "b" / "mlflow.db"
    tracking.seed_store(f"sqlite:///{first}")
    template = tmp_path / "cache" / "bert-suite" / f"mlflow-{mlflow.__version__}.db"
    assert _schema(first) == _schema(template)  # a copy (its Default experiment homed: the test below)
    assert [p.name for p in template.parent.iterdir()] == [template.name]  # no half-written template left
    client = MlflowClient(f"sqlite:///{first}")
    run = client.create_run(client.create_experiment("x"))
    client.log_metric(run.info.run_id, "m", 0.5)
    before = first.read_bytes()
    tracking.seed_store(f"sqlite:///{first}")  # exists: untouched
    assert first.read_bytes() == before and client.get_metric_history(run.info.run_id, "m")[0].value == 0.5
    tracking.seed_store(f"sqlite:///{second}")  # the template is reused, not remade
    assert _schema(second) == _schema(template)
    tracking.seed_store("http://127.0.0.1:1")  # a tracking server: nothing to seed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "cache"]


def test_a_new_stores_default_experiment_keeps_its_artifacts_beside_the_store(tmp_path, monkeypatch):
    """MLflow's Default experiment (id 0) would keep its artifacts under ./mlruns/0 of the folder the template store
    was made in (a checkout); a seeded store homes it under its own folder, and no mlruns/ is made."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "runs" / "mlflow.db"
    tracking.seed_store(f"sqlite:///{store}")
    default = MlflowClient(f"sqlite:///{store}").get_experiment("0")
    assert default.artifact_location == (store.parent / "mlartifacts" / "Default").as_uri()
    assert not (tmp_path / "mlruns").exists()


def test_a_multitask_run_of_earlier_names_reads_its_best_epoch_validation(tmp_path):
    """Before AT_BEST, a multitask run logged val_sst at its best epoch under its curve's name (step 0, after the
    curve): MLflow's latest value was the last epoch's. The runs frame reads the best epoch's back."""
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("old", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(experiment, tags={"trial_id": "t1"}).info.run_id
    for step, value in ((39, 0.30), (78, 0.41), (117, 0.36)):  # the curve: best at epoch 2
        client.log_metric(run, "val_sst", value, step=step)
    client.log_metric(run, "val_sst", 0.41, step=0)  # the final metric, at the best epoch
    client.log_metric(run, "val_last_sst", 0.36, step=0)
    client.log_metric(run, "best_val", 0.7, step=0)
    client.set_terminated(run)
    frame = tracking.runs_frame(client, experiment)
    assert frame.loc[0, "val_sst"] == 0.41 and frame.loc[0, "val_last_sst"] == 0.36
    assert client.get_run(run).data.metrics["val_sst"] == 0.36  # what MLflow itself calls latest
