"""The Ray Tune function trainable: one trial = one MLflow run around one call of the shared trainer."""
from __future__ import annotations

import os
import traceback

from ray import tune


def run_trial(config: dict) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from trainers.loop import TrainConfig, train

    torch.set_num_threads(max(1, int(config["threads"])))
    spec = config["spec"]
    cfg = TrainConfig(**spec["config"])
    client = MlflowClient(config["tracking_uri"])
    tags = {**spec["tags"], **config["run_tags"], "node": os.uname().nodename}
    run_id = tracking.start_run(client, config["experiment_id"], spec["run_name"], tags, cfg.to_dict())
    try:
        result = train(cfg)
    except Exception:
        tracking.fail_run(client, run_id, traceback.format_exc())
        raise
    tracking.finish_run(client, run_id, result)
    tune.report({**result["metrics"], "outcome": result["outcome"], "trial_id": spec["tags"]["trial_id"]})
