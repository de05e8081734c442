"""What the trainers compute is pinned to trainers.config.NUMERICS_VERSION, which is part of every trial id: a few
fixed smoke trials of each trainer kind give exactly these numbers. A change that moves them must bump the version
(so no store reuses a run today's code would not give) and re-pin them here; the failure says so.

Scores are pinned to 1e-9 (counts over a few examples, or their correlations) and losses to a relative 1e-5: a
change of what a trial computes moves them by far more. Pinned on the 2-core Intel Xeon development machine
(2026-12-05, fp32); a CPU whose kernels round differently could move a loss in its 6th digit, which is not a
change of numerics: check there before bumping the version."""
import dataclasses

import numpy as np
import pytest

from trainers.config import NUMERICS_VERSION, TrainConfig
from trainers.loop import train

SINGLE = dict(num_layers=1, max_seq_len=32, batch_size=8, lr=1e-4, epochs=1, evaluations=2, train_examples=24,
              eval_examples=24, init_seed=3, data_seed=5)
MULTI = TrainConfig(task="minBERT", model="paraphrase-MiniLM-L3-v2", num_layers=1, max_seq_len=24, lr=1e-4,
                    batch_size=4, epochs=1, eval_examples=12, warmup_ratio=0.0, init_seed=2, data_seed=2,
                    part_examples=(("para", 8), ("sst", 10), ("sts", 6)),
                    multitask_args=(("consistency", "kl"), ("sampler", "rr_balanced"), ("step", "round"),
                                    ("sts_head", "regression")))


def _kd_teacher(n: int = 24, classes: int = 2) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, classes)).astype(np.float32)


TRIALS = {  # name -> (config, train() keyword arguments)
    # a pretrained checkpoint with its own pooler (all-MiniLM-L6-v2), a regression head
    "single ce STS-B": (TrainConfig(task="STS-B", model="all-MiniLM-L6-v2", **SINGLE), {}),
    # a checkpoint without a pooler (drawn from the init seed, 55cbb96), KD from stored teacher logits
    "single kd SST-2": (TrainConfig(task="SST-2", model="paraphrase-MiniLM-L3-v2", objective="kd",
                                    objective_args=(("alpha", 0.5), ("temperature", 2.0)), teacher="t0", **SINGLE),
                        {"teacher_logits": _kd_teacher()}),
    # a self-teacher step callback (Xu et al.'s SDA)
    "single sda MRPC": (TrainConfig(task="MRPC", model="paraphrase-MiniLM-L3-v2", objective="sd",
                                     self_teacher="sda", **SINGLE), {}),
    # the multitask kind: three heads, one summed step a round, the mean teacher's consistency
    "multitask mean teacher": (MULTI, {}),
}

# NUMERICS_VERSION -> trial -> the metrics it must give (from `python tests/test_numerics.py`)
PINNED = {
    2: {'multitask mean teacher': {'best_epoch': 1.0,
                                'best_step': 2.0,
                                'best_val': 0.47420658326345794,
                                'final_train_loss': 8.530272483825684,
                                'teacher_test': 0.4960253501397716,
                                'teacher_test_para': 0.5833333333333334,
                                'teacher_test_sst': 0.16666666666666666,
                                'teacher_test_sts': 0.47615210083862985,
                                'teacher_val': 0.47531009352991616,
                                'teacher_val_para': 0.6666666666666666,
                                'teacher_val_sst': 0.16666666666666666,
                                'teacher_val_sts': 0.18519389451283017,
                                'test_at_best_val': 0.4866184677802559,
                                'test_last': 0.4866184677802559,
                                'test_last_para': 0.5833333333333334,
                                'test_last_sst': 0.16666666666666666,
                                'test_last_sts': 0.4197108066815356,
                                'test_para': 0.5833333333333334,
                                'test_sst': 0.16666666666666666,
                                'test_sts': 0.4197108066815356,
                                'val_last': 0.47420658326345794,
                                'val_last_para': 0.6666666666666666,
                                'val_last_sst': 0.16666666666666666,
                                'val_last_sts': 0.17857283291408096,
                                'val_para': 0.6666666666666666,
                                'val_sst': 0.16666666666666666,
                                'val_sts': 0.17857283291408096},
     'single ce STS-B': {'best_step': 3.0,
                         'best_val': 0.10926723710801385,
                         'final_train_loss': 9.98537826538086,
                         'test_at_best_val': -0.09552940980735199,
                         'test_last': -0.09552940980735199,
                         'val_last': 0.10926723710801385},
     'single kd SST-2': {'best_step': 2.0,
                         'best_val': 0.5,
                         'final_train_loss': 0.35571229457855225,
                         'test_at_best_val': 0.5,
                         'test_last': 0.5,
                         'val_last': 0.5},
     'single sda MRPC': {'best_step': 2.0,
                         'best_val': 0.8,
                         'final_train_loss': 0.6609495878219604,
                         'test_at_best_val': 0.8,
                         'test_last': 0.8,
                         'val_last': 0.8}},
}


def numbers(name: str) -> dict[str, float]:
    cfg, options = TRIALS[name]
    result = train(cfg, **options)
    kept = {k: float(v) for k, v in result["metrics"].items()
            if not k.endswith("_seconds") and k not in ("steps", "total_steps", "train_examples")}
    kept["final_train_loss"] = float(result["curves"]["train_loss"][-1][1])
    return kept


@pytest.mark.parametrize("name", list(TRIALS))
def test_pinned_smoke_trials_give_the_pinned_numbers(name):
    pins = PINNED.get(NUMERICS_VERSION, {})
    assert name in pins, (f"no pinned numbers for {name!r} at NUMERICS_VERSION {NUMERICS_VERSION}: run "
                          f"`python tests/test_numerics.py` and paste its output into PINNED")
    got, want = numbers(name), pins[name]
    assert set(got) == set(want), f"{name}: the trial's metrics changed: {sorted(set(got) ^ set(want))}"
    moved = {k: (want[k], got[k]) for k in want
             if got[k] != pytest.approx(want[k], rel=1e-5 if "loss" in k else 0, abs=0 if "loss" in k else 1e-9,
                                        nan_ok=True)}
    assert not moved, (f"{name}: what a trial computes changed ({moved}); bump NUMERICS_VERSION in "
                       f"trainers/config.py (it is part of every trial id) and re-pin with `python tests/test_numerics.py`")


def test_the_version_is_part_of_every_trial_id(monkeypatch):
    import trainers.config as config
    cfg = TRIALS["single ce STS-B"][0]
    before = cfg.fingerprint()
    monkeypatch.setattr(config, "NUMERICS_VERSION", NUMERICS_VERSION + 1)
    assert cfg.fingerprint() != before
    assert dataclasses.replace(cfg).fingerprint() == cfg.fingerprint()


if __name__ == "__main__":  # prints the pins for the current code
    import pprint
    pprint.pprint({NUMERICS_VERSION: {name: numbers(name) for name in TRIALS}}, width=118, sort_dicts=True)
