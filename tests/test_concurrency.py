"""Many concurrent trials writing to one sqlite MLflow store never lose a metric point."""
import subprocess
import sys

import yaml
from mlflow.tracking import MlflowClient

from pipelines.config import DEFAULT_CONFIG
from trainers.loop import eval_steps
from trainers.param_distance import measure_steps


def test_eight_concurrent_trials_log_every_point(tmp_path):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["runs_dir"] = str(tmp_path / "runs")
    data["profiles"]["smoke"]["resources"]["cpus_per_trial"] = 0.25  # 8 trials at once on 2 cores
    config = tmp_path / "suite.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "revisiting", "--profile", "smoke",
                           "--experiments", "bias_correction", "--config", str(config)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("revisiting-smoke")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    assert len(runs) == 8 and all(r.info.status == "FINISHED" for r in runs)  # 2 tasks x 2 arms x 2 seeds
    for run in runs:
        total = int(run.data.metrics["total_steps"])
        evaluations = int(run.data.params["evaluations"])
        counts = {key: len(client.get_metric_history(run.info.run_id, key))
                  for key in ("train_loss", "lr_schedule", "val_metric", "l2_block_1")}
        assert counts == {"train_loss": total, "lr_schedule": total,
                          "val_metric": len(eval_steps(total, evaluations)),
                          "l2_block_1": len(measure_steps(total))}, run.info.run_name
