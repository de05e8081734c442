"""One smoke study through the real stack: Ray Tune trials, a sqlite MLflow store, the report; then a rerun
that trains nothing and regenerates the same report byte for byte."""
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from pipelines.config import DEFAULT_CONFIG, load
from pipelines.plan import make_plan


def _suite(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=600)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["runs_dir"] = str(root / "runs")
    config = root / "suite.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    first = _suite(config, "reproduce", "revisiting", "--profile", "smoke")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return config, root / "runs", first


def test_every_trial_is_one_finished_mlflow_run(study):
    config, runs, first = study
    plan = make_plan(load(config), "revisiting", "smoke")
    assert "16 trials planned, 0 already finished in MLflow, 16 to run" in first.stdout
    assert "[16/16]" in first.stdout and "ETA" in first.stdout
    client = MlflowClient(f"sqlite:///{runs / 'mlflow.db'}")
    exp = client.get_experiment_by_name("revisiting-smoke")
    found = client.search_runs([exp.experiment_id], max_results=100)
    assert len(found) == len(plan.specs) == 16
    assert {r.data.tags["trial_id"] for r in found} == set(plan.specs)
    for run in found:
        spec = plan.specs[run.data.tags["trial_id"]]
        assert run.info.status == "FINISHED" and run.data.tags["outcome"] == "finished"
        assert run.data.params["lr"] == str(spec.config.lr) and run.data.params["init_seed"] == str(spec.seed)
        assert run.data.tags["paper"] == "revisiting" and run.data.tags["data_sha256"]
        assert {"best_val", "test_at_best_val", "test_last", "train_seconds"} <= set(run.data.metrics)
    history = client.get_metric_history(found[0].info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, int(found[0].data.metrics["total_steps"]) + 1))


def test_report_has_tables_and_figures(study):
    _, runs, first = study
    report = runs / "reports" / "revisiting-smoke" / "report.md"
    assert f"report written: {report}" in first.stdout
    text = report.read_text()
    for heading in ("## Table 1", "## Figure 1", "## Figure 2", "## Figures 3 and 11", "## Figures 4 and 12",
                    "## Figure 5", "Expected maximum", "## Table 3"):
        assert heading in text
    assert "Trials: 16 of 16 planned have a finished MLflow run" in text
    assert "| RTE | Standard |" in text and "69.5 ± 2.5" in text  # ours beside the published number
    assert "| SST-2 | accuracy (Acc.) | 67,349 (61.3k) | 1,000 (1k) | 872 (1.8k) | 50.0 (50.0)" in text
    assert "not available offline (data/glue/QNLI/train.tsv missing)" in text
    for name in ("figure1", "figure2", "figure3", "figure4", "figure12", "figure5"):
        assert (report.parent / "figures" / f"{name}.png").stat().st_size > 5000
    assert "\\toprule" in (report.parent / "tables" / "table1.tex").read_text()


def test_rerun_trains_nothing_and_gives_the_same_report(study):
    config, runs, _ = study
    folder = runs / "reports" / "revisiting-smoke"
    before = _digest(folder)
    second = _suite(config, "reproduce", "revisiting", "--profile", "smoke")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "16 already finished in MLflow, 0 to run" in second.stdout
    assert "0 ran, 16 reused" in second.stdout
    assert _digest(folder) == before
