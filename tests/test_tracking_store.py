"""A new local MLflow store starts as a copy of an empty, migrated one kept per MLflow version."""
import mlflow
from mlflow.tracking import MlflowClient

from pipelines import tracking


def test_a_new_store_is_a_copy_of_the_cached_template_and_an_existing_one_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "a" / "mlflow.db", tmp_path / "b" / "mlflow.db"
    tracking.seed_store(f"sqlite:///{first}")
    template = tmp_path / "cache" / "bert-suite" / f"mlflow-{mlflow.__version__}.db"
    assert first.read_bytes() == template.read_bytes()
    assert [p.name for p in template.parent.iterdir()] == [template.name]  # no half-written template left
    client = MlflowClient(f"sqlite:///{first}")
    run = client.create_run(client.create_experiment("x"))
    client.log_metric(run.info.run_id, "m", 0.5)
    before = first.read_bytes()
    tracking.seed_store(f"sqlite:///{first}")  # exists: untouched
    assert first.read_bytes() == before and client.get_metric_history(run.info.run_id, "m")[0].value == 0.5
    tracking.seed_store(f"sqlite:///{second}")  # the template is reused, not remade
    assert second.read_bytes() == template.read_bytes()
    tracking.seed_store("http://127.0.0.1:1")  # a tracking server: nothing to seed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "cache"]
