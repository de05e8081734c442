"""Time to rebuild the full revisiting report from 1,000 finished runs in a local MLflow store.

The runs are synthetic (seeded values, realistic curve lengths) but written through MLflow like real trials, for
1,000 trials spread over every first-stage experiment of the paper profile's plan; later stages are then chosen
from them, as `suite report` does."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np


def _curves(rng, steps: int, blocks: int, evaluations: int = 10) -> dict:
    every = max(1, steps // 100)  # the loss curve thinned to about 100 points
    curves = {"train_loss": [(s, float(rng.uniform(0.1, 0.7))) for s in range(every, steps + 1, every)],
              "val_metric": [(round(k * steps / evaluations), float(rng.uniform(0.5, 0.8)))
                             for k in range(1, evaluations + 1)]}
    curves.update({f"l2_block_{b}": [(round(k * steps / 20), float(k * 0.01)) for k in range(21)]
                   for b in range(1, blocks + 1)})
    return curves


def seed_runs(config, n: int = 1000, seed: int = 0) -> int:
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from pipelines.plan import make_plan
    plan = make_plan(config, "revisiting", "paper")
    specs = plan.unique()
    picked = [specs[i] for i in np.linspace(0, len(specs) - 1, min(n, len(specs))).astype(int)]
    client = MlflowClient(tracking.tracking_uri(config.runs_dir))
    experiment = tracking.ensure_experiment(client, tracking.experiment_name("revisiting", "paper"),
                                            config.runs_dir / "mlartifacts")
    rng = np.random.default_rng(seed)
    for spec in picked:
        run_id = tracking.start_run(client, experiment, spec.name, spec.tags(), spec.config.to_dict())
        val = float(rng.uniform(0.5, 0.8))
        result = {"outcome": "finished", "curves": _curves(rng, 300, 24),
                  "metrics": {"best_val": val, "test_at_best_val": val - float(rng.uniform(0, 0.05)),
                              "val_last": val - 0.01, "test_last": val - 0.02, "best_step": 300, "steps": 300,
                              "total_steps": 300, "train_seconds": 600.0, "eval_seconds": 30.0}}
        tracking.finish_run(client, run_id, result)
    return len(picked)


def measure(n: int = 1000) -> dict:
    from pipelines.config import load, scratch_copy
    from pipelines.selection import resolved_plan
    from reports.build import build_report

    with tempfile.TemporaryDirectory() as folder, mock.patch.dict(os.environ):
        os.environ.pop("MLFLOW_TRACKING_URI", None)  # a local store in the scratch folder
        config = load(scratch_copy(Path(folder)))
        t = time.perf_counter()
        runs = seed_runs(config, n)
        seeding = time.perf_counter() - t
        t = time.perf_counter()
        path = build_report(config, resolved_plan(config, "revisiting", "paper", None))
        rebuild = time.perf_counter() - t
        figures = len(list((path.parent / "figures").glob("*.png")))
        tables = len(list((path.parent / "tables").glob("*.tex")))
    return {"runs": runs, "seeding_s": seeding, "rebuild_s": rebuild, "figures": figures, "tables": tables}
