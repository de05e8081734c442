"""The shared training loop: evaluation schedule, determinism on fixed seeds, separate seed streams."""
import math

from trainers.loop import TrainConfig, eval_steps, train

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
