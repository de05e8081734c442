"""The CS224N minBERT multitask tasks (trainers.tasks.cs224n): sizes, the Quora group split, the SST test set built
from the SST-5 trees, the STS dev halves, and the Pearson metric, on the shipped files."""
from __future__ import annotations

import csv
import functools
from collections import Counter

import numpy as np
import pytest

from trainers import assets, metrics
from trainers.tasks import cs224n, get_task, load_splits, sst5

PARTS = ("train", "validation", "test")
SIZES = {"SST-cs224n": (8544, 1101, 2210), "Quora-cs224n": (14212, 2000, 4000), "STS-cs224n": (6040, 433, 430)}
TRAIN_ROWS = {"SST-cs224n": 8544, "Quora-cs224n": 20212, "STS-cs224n": 6040}
SPEC = {"SST-cs224n": ("accuracy", 5, "given"), "Quora-cs224n": ("accuracy", 2, "fixed"),
        "STS-cs224n": ("pearson", 1, "fixed")}


@functools.lru_cache(maxsize=None)
def files(name):
    task = get_task(name)
    return task, {kind: task.read(task, kind) for kind in task.files}


def course_rows(relative):
    """The rows as the course's loader reads them (csv.DictReader, tab-delimited)."""
    with open(assets.asset_path(relative), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


# --- every task --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SIZES)
def test_sizes_and_description(name):
    task = get_task(name)
    splits = load_splits(name)
    assert task.sizes == SIZES[name] and task.train_rows == TRAIN_ROWS[name]
    assert tuple(len(splits[p]) for p in PARTS) == SIZES[name]
    assert (task.metric, task.num_labels, task.recipe) == SPEC[name]
    assert task.metric in metrics.METRICS
    pair = name != "SST-cs224n"
    assert all((splits[p].text_b is not None) == pair for p in PARTS)
    assert all(t and t == t.strip() for p in PARTS for t in splits[p].text_a)


def test_label_types_and_names():
    sst, quora, sts = (load_splits(n) for n in SIZES)
    assert {type(y) for p in PARTS for y in sst[p].labels} == {int}
    assert set(sst["train"].labels) == set(sst["test"].labels) == set(range(5))
    assert {type(y) for p in PARTS for y in quora[p].labels} == {int}
    assert set(quora["train"].labels) == {0, 1}
    assert {type(y) for p in PARTS for y in sts[p].labels} == {float}
    assert min(sts["train"].labels) == 0.0 and max(sts["train"].labels) == 5.0
    assert get_task("SST-cs224n").label_names == sst5.TASK.label_names
    assert get_task("Quora-cs224n").label_names == ("not duplicate", "duplicate")


# --- SST ---------------------------------------------------------------------------------------------------------

def test_sst_test_is_the_sst5_test_in_the_csv_style():
    _, sst = files("SST-cs224n")
    test = sst["test"]
    trees = sst5.TASK.read(sst5.TASK, "test")
    with open(assets.asset_path("data/sst5/trees/test.txt"), encoding="utf-8") as fh:
        roots = [int(line.strip()[1]) for line in fh if line.strip()]
    assert test.labels == trees.labels == tuple(roots) and len(roots) == 2210
    student = [r["sentence"].strip() for r in course_rows("data/cs224n_minbert/ids-sst-test-student.csv")]
    assert sum(a == b for a, b in zip(test.text_a, student)) == len(student) == 2210
    assert sum("-LRB-" in t for t in test.text_a) == 82 and any("``" in t for t in test.text_a)


@pytest.mark.parametrize("kind", ["train", "dev"])
def test_tree_sentences_reproduce_the_csv(kind):
    """The csv style of the test set is the one the csv files have: their trees give their sentences exactly."""
    _, sst = files("SST-cs224n")
    with open(assets.asset_path(f"data/sst5/trees/{kind}.txt"), encoding="utf-8") as fh:
        from_trees = [cs224n.tree_sentence(line) for line in fh if line.strip()]
    assert [t for t, _ in from_trees] == list(sst[kind].text_a)
    assert tuple(y for _, y in from_trees) == sst[kind].labels


def test_tree_sentence_keeps_ptb_escapes():
    line = "(3 (2 -LRB-) (3 (2 ``) (4 (4 good\\/great) (2 \\*)) (2 '')) (2 -RRB-))\n"
    assert cs224n.tree_sentence(line) == ("-LRB- `` good\\/great \\* '' -RRB-", 3)
    with pytest.raises(ValueError):
        cs224n.tree_sentence("(3 (2 a)")


# --- Quora -------------------------------------------------------------------------------------------------------

def test_quora_reader_drops_the_rows_the_course_drops():
    _, quora = files("Quora-cs224n")
    rows = course_rows("data/cs224n_minbert/quora-dev.csv")
    kept, dropped = [], []
    for number, rec in enumerate(rows, start=2):
        try:
            kept.append((rec["sentence1"].strip(), rec["sentence2"].strip(), int(float(rec["is_duplicate"]))))
        except (ValueError, AttributeError):
            dropped.append((number, rec["id"]))
    assert len(rows) == 20214 and len(kept) == 20212
    assert dropped == [(2577, "ad118c967d683c93883bf072d"), (14222, "9054345d02cd6c5642a4904dc")]
    assert list(zip(quora["dev"].text_a, quora["dev"].text_b, quora["dev"].labels)) == kept


def test_quora_group_split_sizes_rates_and_no_shared_question():
    splits = load_splits("Quora-cs224n")
    assert tuple(len(splits[p]) for p in PARTS) == (14212, 2000, 4000)
    assert [round(float(np.mean(splits[p].labels)), 3) for p in PARTS] == [0.373, 0.361, 0.390]
    keys = [{cs224n.normalise_question(q) for q in splits[p].text_a + splits[p].text_b} for p in PARTS]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert sum(len(k) for k in keys) == 38077


def test_quora_components():
    _, quora = files("Quora-cs224n")
    dev = quora["dev"]
    groups = cs224n.question_groups(dev.text_a, dev.text_b)
    assert len(groups) == 17940 and max(len(g) for g in groups) == 63
    assert sorted(np.concatenate(groups).tolist()) == list(range(20212))


def test_quora_split_disjoint_covering_and_seed_free():
    task, quora = files("Quora-cs224n")
    first, again = task.split(task, quora, 0), task.split(task, quora, 7)
    idx = [first[p][1] for p in PARTS]
    assert all((np.diff(i) > 0).all() for i in idx)  # sorted, no repeats
    assert sorted(np.concatenate(idx).tolist()) == list(range(20212))
    assert all(first[p][0] == "dev" and np.array_equal(first[p][1], again[p][1]) for p in PARTS)


# pairs 0, 2 and 4 chain through "B?" ~ "b?" and "E?" ~ " e?  " (case and spaces normalised away): one group.
# Questions numbered in sorted order a..j = 0..9; the union-find roots are 7 (pairs 0, 2, 4), 3 (pair 1),
# 6 (pair 3), 9 (pair 5): components in root order [1], [3], [0, 2, 4], [5].
TINY_A = ("A?", "C?", "b?", "F?", " e?  ", "I?")
TINY_B = ("B?", "D?", "E?", "G?", "H?", "J?")


@pytest.mark.parametrize("seed, permutation, expected", [
    # test (>= 2) first, then validation (>= 1), the rest train
    (0, [2, 0, 1, 3], ([3, 5], [1], [0, 2, 4])),  # the chain fills test at once; [1] fills validation
    (1, [0, 1, 2, 3], ([5], [0, 2, 4], [1, 3])),  # two singletons fill test; the chain goes whole to validation
    (2, [3, 2, 0, 1], ([3], [1], [0, 2, 4, 5])),  # [5] then the chain overfill test (4 pairs)
])
def test_group_split_hand_example(seed, permutation, expected):
    assert np.random.default_rng(seed).permutation(4).tolist() == permutation
    assert [g.tolist() for g in cs224n.question_groups(TINY_A, TINY_B)] == [[1], [3], [0, 2, 4], [5]]
    got = cs224n.group_split(TINY_A, TINY_B, (1, 2), seed)
    assert [p.tolist() for p in got] == [list(e) for e in expected]


def test_group_split_keeps_chains_whole_and_is_deterministic():
    for seed in range(20):
        parts = cs224n.group_split(TINY_A, TINY_B, (1, 2), seed)
        assert sum(set(p.tolist()) >= {0, 2, 4} for p in parts) == 1
        again = cs224n.group_split(list(TINY_A), list(TINY_B), (1, 2), seed)
        assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    with pytest.raises(ValueError, match="cannot fill"):
        cs224n.group_split(TINY_A, TINY_B, (3, 4), 0)
    with pytest.raises(ValueError, match="validation, test"):
        cs224n.group_split(TINY_A, TINY_B, (1, 1, 2), 0)


def test_quora_reader_rejects_a_bad_label(tmp_path, monkeypatch):
    target = tmp_path / "data" / "cs224n_minbert" / "quora-dev.csv"
    target.parent.mkdir(parents=True)
    target.write_text("\tid\tsentence1\tsentence2\tis_duplicate\n1\tx\tA?\tB?\t0.0\n2\ty\tC?\tD?\t0.5\n",
                      encoding="utf-8")
    monkeypatch.setenv("SUITE_ASSETS", str(tmp_path))
    task = get_task("Quora-cs224n")
    with pytest.raises(assets.AssetError, match=r"quora-dev\.csv:3: malformed label"):
        task.read(task, "dev")


# --- STS ---------------------------------------------------------------------------------------------------------

def test_sts_dev_halves_disjoint_covering_and_per_class():
    task, sts = files("STS-cs224n")
    recipe = task.split(task, sts, 3)
    assert recipe["train"][0] == "train" and np.array_equal(recipe["train"][1], np.arange(6040))
    val, test = recipe["validation"][1], recipe["test"][1]
    assert recipe["validation"][0] == recipe["test"][0] == "dev"
    assert not set(val.tolist()) & set(test.tolist())
    assert sorted(val.tolist() + test.tolist()) == list(range(863))
    classes = np.floor(np.asarray(sts["dev"].labels)).astype(int)
    cv, ct = Counter(classes[val].tolist()), Counter(classes[test].tolist())
    assert all(cv[c] - ct[c] in (0, 1) for c in set(classes.tolist()))
    assert np.array_equal(task.split(task, sts, 99)["validation"][1], val)


# --- Pearson -----------------------------------------------------------------------------------------------------

def test_pearson_hand_computed():
    # preds 1,2,3 and labels 1,3,2: deviations (-1,0,1) and (-1,1,0): covariance 1, variances 2 and 2 -> r = 1/2
    assert metrics.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert metrics.pearson([3, 2, 1], [0.0, 2.5, 5.0]) == pytest.approx(-1.0)
    assert metrics.pearson([2.0, 2.0, 2.0], [1, 3, 2]) == 0.0  # constant predictions
    assert metrics.score("pearson", np.array([[1.0], [2.0], [3.0]]), [1, 3, 2]) == pytest.approx(0.5)
    assert metrics.majority_baseline("pearson", [1.0, 3.0, 2.0], regression=True) == 0.0
