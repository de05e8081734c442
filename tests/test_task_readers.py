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
    from trainers.config import TrainConfig
    assert train_size(TrainConfig(task="FewRel", model="m")) == 8000
    assert eval_size(TrainConfig(task="FewRel", model="m", eval_examples=500)) == (500, 500)
    assert train_size(TrainConfig(task="SST-2", model="m")) == 1000  # Zhang et al.'s 1k recipe
    assert train_size(TrainConfig(task="MNLI", model="m", full_train=True)) == 392702 - 1000


# --- Xu et al. (2020): the fixed-seed proxies and the hub-only datasets ----------------------------------------

XU_ASSETS = ("data/ag_news/test.csv", "data/cs224n_minbert/ids-cfimdb-train.csv",
             "data/cs224n_minbert/ids-cfimdb-dev.csv")
# task -> (sizes, class counts per split, (first train label, its first 30 characters))
PROXIES = {
    "AG-proxy": ((4000, 1000, 2600), ({0: 1000, 1: 1000, 2: 1000, 3: 1000}, {0: 250, 1: 250, 2: 250, 3: 250},
                                      {0: 650, 1: 650, 2: 650, 3: 650}), (3, "Open Letter Against British Co")),
    "IMDb-proxy": ((1202, 250, 500), ({0: 603, 1: 599}, {0: 125, 1: 125}, {0: 251, 1: 249}),
                   (1, '""" I vaguely remember Ben fro')),
    "QNLI-proxy": ((2000, 1000, 2463), ({0: 989, 1: 1011}, {0: 495, 1: 505}, {0: 1218, 1: 1245}),
                   (1, "What does UMC stand for?")),
}
PARTS = ("train", "validation", "test")


@functools.lru_cache(maxsize=None)
def proxy_files(name):
    from trainers.tasks import get_task
    task = get_task(name)
    return task, {kind: task.read(task, kind) for kind in task.files}


@pytest.mark.parametrize("relative", XU_ASSETS)
def test_xu_manifest_entries_verify(relative):
    assert assets.verify(relative).is_file()


@pytest.mark.parametrize("name", PROXIES)
def test_proxy_split_sizes_classes_and_first_example(name):
    from trainers.tasks import load_splits
    sizes, counts, (label, head) = PROXIES[name]
    task, _ = proxy_files(name)
    splits = load_splits(name)
    assert task.recipe == "fixed" and task.sizes == sizes
    assert tuple(len(splits[p]) for p in PARTS) == sizes
    assert [dict(Counter(splits[p].labels)) for p in PARTS] == list(counts)
    assert (splits["train"].labels[0], splits["train"].text_a[0][:30]) == (label, head)


@pytest.mark.parametrize("name", PROXIES)
def test_proxy_split_disjoint_fixed_and_seed_free(name):
    from trainers.tasks import load_splits, split_seed
    task, files = proxy_files(name)
    recipe = task.split(task, files, 1)
    (pool,) = {kind for kind, _ in recipe.values()}
    rows = sum(len(files[k]) for k in (pool if isinstance(pool, tuple) else (pool,)))
    taken = np.concatenate([recipe[p][1] for p in PARTS])
    assert len(taken) == len(set(taken.tolist())) == rows == task.train_rows  # disjoint, every row of the pool
    again = task.split(task, files, 2)
    for p in PARTS:
        np.testing.assert_array_equal(recipe[p][1], again[p][1])
    assert split_seed(name, 1) is None and split_seed(name, 2) is None
    from trainers.tasks import agnews, cfimdb, glue, hub_text
    assert agnews.SPLIT_SEED == cfimdb.SPLIT_SEED == hub_text.SPLIT_SEED == glue.SPLIT_SEED
    a = load_splits.__wrapped__(name, None, None, False, 1)
    b = load_splits.__wrapped__(name, None, None, False, 2)
    assert a == b == load_splits.__wrapped__(name)


def test_ag_news_text_cleaning_and_classes():
    from trainers.tasks import agnews
    assert agnews.clean("A second\\team, over \\$1 billion, it #39;s the  #36;10 prize \\\\end #151;x &lt;A&gt;") == \
        "A second team, over $1 billion, it's the $10 prize  end\u2014x &lt;A&gt;"
    classes = (assets.asset_path("data/ag_news/classes.txt")).read_text(encoding="utf-8").split()
    assert tuple(classes) == agnews.CLASSES
    _, files = proxy_files("AG-proxy")
    assert files["test"].text_a[1].startswith("The Race is On: Second Private Team Sets Launch Date for Human "
                                              "Spaceflight (SPACE.com) SPACE.com - TORONTO, Canada -- A second team")
    assert not any("\\" in t or " #39;" in t for t in files["test"].text_a)


@pytest.mark.parametrize("name, body, where", [
    ("AG-proxy", '"3","title","text"\n"5","title","text"\n', r"test\.csv:2: malformed row"),
    ("AG-proxy", '"3","title"\n', r"test\.csv:1: malformed row"),
    ("IMDb-proxy", '\tid\tsentence\tsentiment\n0\tx\tfine .\t1\n1\ty\tbad .\t2\n', r"ids-cfimdb-dev\.csv:3: malformed"),
    ("IMDb-proxy", '\tid\tsentence\tsentiment\n0\tx\tfine .\t1\n', r"ids-cfimdb-dev\.csv: 1 rows, expected 245"),
])
def test_proxy_readers_name_file_and_line(tmp_path, monkeypatch, name, body, where):
    from trainers.tasks import get_task
    task = get_task(name)
    kind = "dev" if name == "IMDb-proxy" else "test"
    target = tmp_path / task.files[kind]
    target.parent.mkdir(parents=True)
    target.write_text(body, encoding="utf-8")
    monkeypatch.setenv("SUITE_ASSETS", str(tmp_path))
    with pytest.raises(assets.AssetError, match=where):
        task.read(task, kind)


HUB_ONLY = {"AG": ((115000, 5000, 7600), ["data/ag_news/train.csv"]),
            "IMDb": ((22500, 2500, 25000), ["data/imdb/train.parquet", "data/imdb/test.parquet"]),
            "Yelp-P": ((555000, 5000, 38000), ["data/yelp_polarity/train.parquet", "data/yelp_polarity/test.parquet"]),
            "Yelp-F": ((645000, 5000, 50000),
                       ["data/yelp_review_full/train.parquet", "data/yelp_review_full/test.parquet"]),
            "DBPedia": ((555000, 5000, 70000), ["data/dbpedia_14/train.parquet", "data/dbpedia_14/test.parquet"]),
            "SNLI": ((549367, 9842, 9824), ["data/snli/train.parquet", "data/snli/validation.parquet",
                                            "data/snli/test.parquet"])}


@pytest.mark.parametrize("name", HUB_ONLY)
def test_hub_only_tasks_sizes_and_missing_data_offline(name):
    from pipelines.availability import missing_data
    from pipelines.plan import task_label, train_size
    from trainers.config import TrainConfig
    from trainers.tasks import get_task
    sizes, absent = HUB_ONLY[name]
    task = get_task(name)
    assert task.sizes == sizes and task.recipe == ("given" if name == "SNLI" else "fixed")
    assert not assets.hub_reachable()  # conftest: HF_HUB_OFFLINE=1
    assert missing_data(name) == f"{', '.join(absent)} not in the offline assets and the hub is off (HF_HUB_OFFLINE=1)"
    assert train_size(TrainConfig(task=name, model="m")) == sizes[0] and task_label(name, {}) == name


def test_fixed_recipe_plans_like_given():
    from pipelines.availability import missing_data
    from pipelines.plan import eval_size, task_label, train_size
    from trainers.config import TrainConfig
    for name, (sizes, _, _) in PROXIES.items():
        assert missing_data(name) is None and task_label(name, {}) == name
        assert train_size(TrainConfig(task=name, model="m")) == sizes[0]
        assert eval_size(TrainConfig(task=name, model="m")) == sizes[1:]


def test_hub_reader_on_a_fake_hub(tmp_path, monkeypatch):
    """The hub path without a network: parquet files of a fake repository served by patched hub calls."""
    import huggingface_hub
    import pandas as pd

    from trainers.tasks import Examples, agnews, get_task, hub_text
    tables = {
        "stanfordnlp/snli": {"plain_text/train-00000-of-00001.parquet":
                             {"premise": ["p0", "p1", "p2"], "hypothesis": ["h0", "h1", "h2"], "label": [2, -1, 0]}},
        "fancyzhx/dbpedia_14": {"dbpedia_14/train-00000-of-00002.parquet":
                                {"label": [0, 13], "title": ["T0", "T1"], "content": [" c0", "c1"]},
                                "dbpedia_14/train-00001-of-00002.parquet":
                                {"label": [5], "title": ["T2"], "content": ["c2"]},
                                "dbpedia_14/test-00000-of-00001.parquet":
                                {"label": [1], "title": ["X"], "content": ["y"]}},
        "fancyzhx/ag_news": {"data/train-00000-of-00001.parquet": {"text": ["Up \\$5 it #39;s"], "label": [2]}},
        "stanfordnlp/imdb": {"plain_text/unsupervised-00000-of-00001.parquet": {"text": ["u"], "label": [-1]},
                             "plain_text/train-00000-of-00001.parquet": {"text": ["good", "bad"], "label": [1, 0]}},
    }
    for repo, files in tables.items():
        for name, columns in files.items():
            (tmp_path / repo / name).parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(columns).to_parquet(tmp_path / repo / name)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", lambda repo, repo_type: list(tables[repo]))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download",
                        lambda repo, name, repo_type: str(tmp_path / repo / name))
    monkeypatch.setattr(hub_text, "hub_reachable", lambda: True)
    monkeypatch.setattr(agnews, "hub_reachable", lambda: True)

    snli = get_task("SNLI")
    assert snli.read(snli, "train") == Examples(("p0", "p2"), ("h0", "h2"), (2, 0))  # no gold label: dropped
    dbpedia = get_task("DBPedia")
    assert dbpedia.read(dbpedia, "train") == Examples(("T0  c0", "T1 c1", "T2 c2"), None, (0, 13, 5))
    ag = get_task("AG")
    assert ag.read(ag, "train") == Examples(("Up $5 it's",), None, (2,))  # cleaned like the CSV
    assert len(ag.read(ag, "test")) == 7600  # the shipped file, not the hub
    imdb = get_task("IMDb")
    assert imdb.read(imdb, "train") == Examples(("good", "bad"), None, (1, 0))
    with pytest.raises(assets.AssetError, match="0 parquet files of split 'validation'"):
        hub_text.hub_frame("stanfordnlp/imdb", "validation")


def test_validation_from_train_is_stratified_and_disjoint():
    import dataclasses

    from trainers.tasks import Examples, get_task
    labels = tuple(np.repeat(np.arange(14), 100).tolist())
    files = {"train": Examples(("x",) * 1400, None, labels), "test": Examples(("y",) * 7, None, (0,) * 7)}
    task = dataclasses.replace(get_task("DBPedia"), sizes=(1260, 140, 7))
    recipe, again = task.split(task, files, 1), task.split(task, files, 2)
    assert all(np.array_equal(recipe[p][1], again[p][1]) for p in PARTS)  # no run seed plays a part
    val, train = recipe["validation"][1], recipe["train"][1]
    assert len(val) == 140 and Counter(np.asarray(labels)[val].tolist()) == {c: 10 for c in range(14)}
    assert len(train) == 1260 and len(np.intersect1d(val, train)) == 0
    assert recipe["test"][0] == "test" and recipe["test"][1].tolist() == list(range(7))
