"""SST-5 and FewRel-16 readers and splits (Kobyzev et al., Sec. 4.1.1, 4.1.2, Appendix B.1), on the shipped files."""
from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import pytest

from trainers import assets
from trainers.tasks import fewrel, sst5

NEW_ASSETS = ("data/sst5/trees/train.txt", "data/sst5/trees/dev.txt", "data/sst5/trees/test.txt",
              "data/fewrel/val_wiki.json")


@functools.lru_cache(maxsize=None)
def sst(kind):
    return sst5.TASK.read(sst5.TASK, kind)


@functools.lru_cache(maxsize=1)
def rel():
    return fewrel.TASK.read(fewrel.TASK, "all")


def rel_split(seed):
    return fewrel.TASK.split(fewrel.TASK, {"all": rel()}, seed)


@pytest.mark.parametrize("relative", NEW_ASSETS)
def test_manifest_entries_verify(relative):
    assert assets.verify(relative).is_file()


# --- SST-5 -------------------------------------------------------------------------------------------------------

def test_parse_tree_literal():
    line = "(3 (2 -LRB-) (3 (2 ``) (4 (4 good\\/great) (2 \\*)) (2 '')) (2 -RRB-))\n"
    assert sst5.parse_tree(line) == ('( " good/great * " )', 3)
    assert sst5.parse_tree("(0 (0 Awful) (2 .))") == ("Awful .", 0)


@pytest.mark.parametrize("line", ["", "3 (2 a)", "(3 (2 a)", "(3 (2 a)))", "(3 (2 a)) (2 b)", "(5 (2 a))",
                                  "(3 (2 (2 a) (2 b)"])
def test_parse_tree_rejects_malformed(line):
    with pytest.raises(ValueError):
        sst5.parse_tree(line)


def test_read_names_file_and_line_of_a_malformed_tree(tmp_path, monkeypatch):
    target = tmp_path / "data" / "sst5" / "trees" / "dev.txt"
    target.parent.mkdir(parents=True)
    target.write_text("(2 (2 fine) (2 .))\n(3 (2 broken)\n", encoding="utf-8")
    monkeypatch.setenv("SUITE_ASSETS", str(tmp_path))
    with pytest.raises(assets.AssetError, match=r"dev\.txt:2: malformed tree"):
        sst5.TASK.read(sst5.TASK, "dev")


def test_sst5_sizes_and_labels():
    sizes = tuple(len(sst(kind)) for kind in ("train", "dev", "test"))
    assert sizes == sst5.TASK.sizes == (8544, 1101, 2210)
    assert sst5.TASK.train_rows == len(sst("train"))
    for kind in ("train", "dev", "test"):
        assert set(sst(kind).labels) == {0, 1, 2, 3, 4}
        assert all(type(label) is int for label in sst(kind).labels)
        assert sst(kind).text_b is None


def test_sst5_first_train_sentence():
    train = sst("train")
    assert train.text_a[0] == ("The Rock is destined to be the 21st Century 's new \" Conan \" and that he 's going "
                               "to make a splash even greater than Arnold Schwarzenegger , Jean-Claud Van Damme or "
                               "Steven Segal .")
    assert train.labels[0] == 3


def test_sst5_escapes_undone():
    train = sst("train")
    assert train.text_a[31].startswith('( " Take Care of My Cat " ) is an honestly nice little film')
    assert train.labels[31] == 3
    assert "co-writer/director Peter Jackson" in train.text_a[1] and train.labels[1] == 4
    assert train.text_a[53].startswith("The wanton slipperiness of * Corpus and")
    for kind in ("train", "dev", "test"):
        joined = "\n".join(sst(kind).text_a)
        for escape in ("-LRB-", "-RRB-", "``", "''", "\\"):
            assert escape not in joined, (kind, escape)


def test_sst5_test_majority_share():
    counts = Counter(sst("test").labels)
    label, top = counts.most_common(1)[0]
    assert (label, top) == (1, 633)
    assert round(100 * top / len(sst("test")), 1) == 28.6


def test_sst5_split_is_the_given_files():
    files = {kind: sst(kind) for kind in ("train", "dev", "test")}
    recipe = sst5.TASK.split(sst5.TASK, files, seed=7)
    assert {part: kind for part, (kind, _) in recipe.items()} == {"train": "train", "validation": "dev",
                                                                  "test": "test"}
    for part, (kind, rows) in recipe.items():
        np.testing.assert_array_equal(rows, np.arange(len(files[kind])))
    other = sst5.TASK.split(sst5.TASK, files, seed=8)
    assert all(np.array_equal(recipe[p][1], other[p][1]) for p in recipe)


# --- FewRel-16 -----------------------------------------------------------------------------------------------------

def test_fewrel_examples():
    examples = rel()
    assert len(examples) == fewrel.TASK.train_rows == 11200
    counts = Counter(examples.labels)
    assert sorted(counts) == list(range(16)) and set(counts.values()) == {700}
    assert list(examples.labels) == sorted(examples.labels)  # relation after relation
    assert fewrel.TASK.label_names == tuple(sorted(fewrel.TASK.label_names))


def test_fewrel_known_instance():
    examples = rel()  # first instance of P155, the first relation id in sorted order
    assert examples.text_a[0] == ('Hot Dance Club Play chart , along with album tracks " Whammy Kiss " and " Song '
                                  'for a Future Generation " .')
    assert examples.text_b[0] == "song for a future generation [SEP] whammy kiss"
    assert examples.labels[0] == 0 and fewrel.TASK.label_names[0] == "P155"


def test_fewrel_split_sizes_disjoint_covering():
    recipe = rel_split(42)
    labels = np.asarray(rel().labels)
    sizes = tuple(len(recipe[part][1]) for part in ("train", "validation", "test"))
    assert sizes == fewrel.TASK.sizes == (8000, 1600, 1600)
    assert {kind for kind, _ in recipe.values()} == {"all"}
    for part, per in (("train", 500), ("validation", 100), ("test", 100)):
        assert set(Counter(labels[recipe[part][1]]).values()) == {per}
    rows = np.concatenate([recipe[part][1] for part in recipe])
    assert sorted(rows) == list(range(11200))


def test_fewrel_split_depends_on_seed_only():
    first, again, other = rel_split(42), rel_split(42), rel_split(549)
    for part in first:
        np.testing.assert_array_equal(first[part][1], again[part][1])
        assert not np.array_equal(first[part][1], other[part][1])
        assert set(first[part][1]) != set(other[part][1])


def test_fewrel_split_pinned_seed_42():
    recipe = rel_split(42)
    perm = np.random.RandomState(42).permutation(700)
    assert (perm[0], perm[500], perm[600]) == (158, 186, 288)
    assert recipe["train"][1][0] == 158 and recipe["validation"][1][0] == 186 and recipe["test"][1][0] == 288
    assert recipe["validation"][1][100] == 886  # relation 1 (P177): 700 + perm[500]
    assert recipe["test"][1][-1] == 10602  # relation 15 (P921): 10500 + perm[699]


def test_fewrel_split_fresh_random_state_per_relation():
    recipe = rel_split(805)
    perm = np.random.RandomState(805).permutation(700)
    for part, lo, hi in (("train", 0, 500), ("validation", 500, 600), ("test", 600, 700)):
        rows = recipe[part][1].reshape(16, hi - lo)
        np.testing.assert_array_equal(rows, np.arange(16)[:, None] * 700 + perm[lo:hi])


# --- the registry: every task through one load_splits ------------------------------------------------------------

def test_registry_loads_sst5_and_fewrel_splits_with_their_recipes():
    from trainers.tasks import get_task, load_splits, split_seed
    sst5 = load_splits.__wrapped__("SST-5", 1000, None)
    assert [len(sst5[k]) for k in ("train", "validation", "test")] == [1000, 1101, 2210]  # full test: few ties
    assert get_task("SST-5").sizes == (8544, 1101, 2210) and split_seed("SST-5", 42) is None
    a = load_splits.__wrapped__("FewRel", 64 * 16 // 4, 16 * 10, False, split_seed("FewRel", 42))
    b = load_splits.__wrapped__("FewRel", 64 * 16 // 4, 16 * 10, False, split_seed("FewRel", 549))
    assert [len(a[k]) for k in ("train", "validation", "test")] == [256, 160, 160]
    assert sorted(set(a["train"].labels)) == list(range(16)) and a["train"].labels.count(0) == 16  # stratified
    assert a["test"].text_a != b["test"].text_a  # the split follows the seed (Appendix B.1)


def test_planner_sizes_come_from_the_task():
    from pipelines.plan import eval_size, train_size
    from trainers.loop import TrainConfig
    assert train_size(TrainConfig(task="FewRel", model="m")) == 8000
    assert eval_size(TrainConfig(task="FewRel", model="m", eval_examples=500)) == (500, 500)
    assert train_size(TrainConfig(task="SST-2", model="m")) == 1000  # Zhang et al.'s 1k recipe
    assert train_size(TrainConfig(task="MNLI", model="m", full_train=True)) == 392702 - 1000
