"""The multitask batch schedules (trainers.multitask.samplers): what each epoch covers, determinism per seed, and
the step counts the learning-rate schedule and the plan rely on."""
from collections import Counter

import numpy as np
import pytest

from trainers.multitask.samplers import SAMPLERS, epoch_rounds, examples_per_epoch, steps_per_epoch

SIZES = {"sst": 10, "para": 23, "sts": 6}


def rows(rounds):
    return Counter((b.task, r) for rnd in rounds for b in rnd for r in b.rows)


def test_sequential_and_even_see_every_example_once():
    for sampler in ("sequential", "even"):
        rounds = epoch_rounds(sampler, SIZES, 4, np.random.default_rng(0))
        seen = rows(rounds)
        assert set(seen.values()) == {1}
        assert {t: sum(1 for task, _ in seen if task == t) for t in SIZES} == SIZES
        assert all(len(rnd) == 1 for rnd in rounds)
    sequential = [rnd[0].task for rnd in epoch_rounds("sequential", SIZES, 4, np.random.default_rng(0))]
    assert sequential == ["sst"] * 3 + ["para"] * 6 + ["sts"] * 2  # task after task
    even = [rnd[0].task for rnd in epoch_rounds("even", SIZES, 4, np.random.default_rng(0))]
    assert sorted(even) == sorted(sequential) and even != sequential  # the same batches, shuffled together


def test_unbalanced_round_robin_runs_to_the_largest_task_and_cycles_the_others():
    rounds = epoch_rounds("rr_unbalanced", SIZES, 4, np.random.default_rng(1))
    assert len(rounds) == 6  # ceil(23 / 4): the largest task's batches
    assert all([b.task for b in rnd] == ["sst", "para", "sts"] for rnd in rounds)
    seen = rows(rounds)
    assert all(seen[("para", r)] == 1 for r in range(23))  # the largest task once
    assert sorted(seen[("sts", r)] for r in range(6)) == [4] * 6  # 24 rows = 4 full passes over 6
    assert sorted(seen[("sst", r)] for r in range(10)) == [2] * 6 + [3] * 4  # 24 rows: 2 passes and 4 more
    assert all(len(b.rows) == 4 for rnd in rounds for b in rnd if b.task != "para")


def test_balanced_round_robin_samples_equally_without_repeats():
    rounds = epoch_rounds("rr_balanced", SIZES, 4, np.random.default_rng(2), balanced=8)
    seen = rows(rounds)
    assert {t: sum(n for (task, _), n in seen.items() if task == t) for t in SIZES} == dict.fromkeys(SIZES, 8)
    assert max(seen[k] for k in seen if k[0] != "sts") == 1  # 8 of 10 and 8 of 23: no row twice
    assert sorted(seen[("sts", r)] for r in range(6)) == [1] * 4 + [2] * 2  # 8 of 6: one pass and 2 more
    default = epoch_rounds("rr_balanced", SIZES, 4, np.random.default_rng(2))
    assert Counter(b.task for rnd in default for b in rnd for _ in b.rows) == dict.fromkeys(SIZES, 6)  # smallest
    other_epoch = epoch_rounds("rr_balanced", SIZES, 4, np.random.default_rng(3), balanced=8)
    assert rows(other_epoch) != seen  # a fresh sample each epoch (here: another seed's draw)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_each_sampler_is_deterministic_per_seed(sampler):
    a = epoch_rounds(sampler, SIZES, 4, np.random.default_rng(7), balanced=5)
    b = epoch_rounds(sampler, SIZES, 4, np.random.default_rng(7), balanced=5)
    c = epoch_rounds(sampler, SIZES, 4, np.random.default_rng(8), balanced=5)
    assert a == b and a != c


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("step", ["batch", "round"])
def test_step_and_example_counts_match_the_schedule(sampler, step):
    rounds = epoch_rounds(sampler, SIZES, 4, np.random.default_rng(3), balanced=5)
    steps = sum(1 if step == "round" else len(rnd) for rnd in rounds)
    assert steps_per_epoch(sampler, SIZES, 4, step, balanced=5) == steps
    fed = Counter()
    for rnd in rounds:
        for b in rnd:
            fed[b.task] += len(b.rows)
    assert examples_per_epoch(sampler, SIZES, 4, balanced=5) == dict(fed)


def test_unknown_sampler_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown sampler 'shuffled' .valid: sequential, rr_unbalanced"):
        epoch_rounds("shuffled", SIZES, 4, np.random.default_rng(0))
