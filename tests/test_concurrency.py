"""Many concurrent trials writing to one sqlite MLflow store never lose a metric point."""
from mlflow.tracking import MlflowClient

from pipelines import tracking

from trainers.config import eval_steps
from trainers.param_distance import measure_steps


def test_four_concurrent_trials_log_every_point(killed_and_resumed):
    runs_dir, _ = killed_and_resumed  # conftest: 8 trials in two drivers, the second's 4 at once (half a CPU each)
    client = MlflowClient(f"sqlite:///{runs_dir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("revisiting-smoke")
    runs = [r for r in client.search_runs([exp.experiment_id], max_results=1000) if r.info.status == "FINISHED"]
    assert len(runs) == 8  # 2 tasks x 2 arms x 2 seeds (and the runs the kill cut short, marked killed)
    for run in runs:
        total = int(run.data.metrics["total_steps"])
        evaluations = int(run.data.params["evaluations"])
        counts = {key: len(tracking.metric_histories(client, {0: run.info.run_id}, key)[0])  # frame names
                  for key in ("train_loss", "lr_schedule", "val_metric", "l2_block_1")}
        assert counts == {"train_loss": total, "lr_schedule": total,
                          "val_metric": len(eval_steps(total, evaluations)),
                          "l2_block_1": len(measure_steps(total))}, run.info.run_name
