"""The shared training loop: evaluation schedule, determinism on fixed seeds, separate seed streams."""
import math

from trainers.config import TrainConfig, eval_steps
from trainers.loop import train

TINY = dict(model="all-MiniLM-L6-v2", num_layers=1, max_seq_len=32, batch_size=8, lr=1e-4, epochs=1,
            evaluations=2, train_examples=24, eval_examples=24)


def test_eval_steps():
    assert eval_steps(234, 10) == [23, 47, 70, 94, 117, 140, 164, 187, 211, 234]
    assert eval_steps(3, 10) == [1, 2, 3]


def test_same_seeds_same_numbers_and_seed_streams_differ():
    cfg = TrainConfig(task="STS-B", init_seed=1, data_seed=1, **TINY)
    first, second = train(cfg), train(cfg)
    assert first["metrics"]["best_val"] == second["metrics"]["best_val"]
    assert first["curves"]["train_loss"] == second["curves"]["train_loss"]
    other_data = train(TrainConfig(task="STS-B", init_seed=1, data_seed=2, **TINY))
    other_init = train(TrainConfig(task="STS-B", init_seed=2, data_seed=1, **TINY))
    assert other_data["curves"]["train_loss"] != first["curves"]["train_loss"]
    assert other_init["curves"]["train_loss"] != first["curves"]["train_loss"]
    m = first["metrics"]
    assert m["steps"] == m["total_steps"] == 3 and [s for s, _ in first["curves"]["val_metric"]] == [2, 3]
    assert first["outcome"] == "finished" and not math.isnan(m["test_at_best_val"])


def test_nan_loss_ends_as_diverged_with_metrics_kept():
    result = train(TrainConfig(task="RTE", init_seed=1, data_seed=1, **{**TINY, "lr": 1e30, "epochs": 3}))
    assert result["outcome"] == "diverged"
    assert result["metrics"]["steps"] < result["metrics"]["total_steps"]


def test_loss_log_stops_at_the_first_non_finite_loss_as_a_per_step_check_would():
    import torch

    from trainers.loop import LossLog
    curves = {"train_loss": [], "lr": [(s, 0.1) for s in range(1, 5)], "l2_block_1": [(0, 0.0), (2, 0.5), (4, 9.9)]}
    log = LossLog(curves)
    for step, value in enumerate([0.75, 0.5, math.nan, 0.25], start=1):
        log.add(step, torch.tensor(value))
    assert log.flush() == 2  # the last good step
    assert curves == {"train_loss": [(1, 0.75), (2, 0.5)], "lr": [(1, 0.1), (2, 0.1)],
                      "l2_block_1": [(0, 0.0), (2, 0.5)]}
    assert log.flush() is None and log.pending == []


def test_diverged_run_reports_only_steps_before_the_nan():
    result = train(TrainConfig(task="RTE", init_seed=1, data_seed=1, **{**TINY, "lr": 1e30, "epochs": 3}))
    steps = result["metrics"]["steps"]
    assert result["outcome"] == "diverged"
    assert [s for s, _ in result["curves"]["train_loss"]] == list(range(1, steps + 1))
    assert all(math.isfinite(v) for _, v in result["curves"]["train_loss"])
    assert max(s for s, _ in result["curves"]["lr"]) == steps
