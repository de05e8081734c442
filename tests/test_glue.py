"""Split recipes (Sec. 3): sizes, disjointness, per-class halves, stability; readers; asset errors."""
import shutil
from collections import Counter

import numpy as np
import pytest

from trainers import assets
from trainers.tasks import get_task, load_splits, strata
from trainers.tasks.glue import split_indices


@pytest.mark.parametrize("task,val,test", [("RTE", 139, 138), ("MRPC", 205, 203), ("STS-B", 751, 749),
                                           ("CoLA", 522, 521)])
def test_small_task_halves_of_dev(task, val, test):
    info = get_task(task)
    train, dev = info.read(info, "train"), info.read(info, "dev")
    recipe = split_indices(info, train.labels, dev.labels)
    (_, v), (_, t) = recipe["validation"], recipe["test"]
    assert (len(v), len(t)) == (val, test)
    assert not set(v) & set(t) and set(v) | set(t) == set(range(len(dev)))
    classes = strata(info, dev.labels)
    cv, ct = Counter(classes[v]), Counter(classes[t])
    assert all(0 <= cv[c] - ct[c] <= 1 for c in set(classes))  # each class split in half


def test_large_task_recipe_sst2():
    info = get_task("SST-2")
    train, dev = info.read(info, "train"), info.read(info, "dev")
    recipe = split_indices(info, train.labels, dev.labels)
    (k1, tr), (k2, va), (k3, te) = recipe["train"], recipe["validation"], recipe["test"]
    assert (k1, k2, k3) == ("train", "train", "dev")
    assert len(tr) == 1000 and len(va) == 1000 and len(te) == len(dev) == 872
    assert not set(tr) & set(va)
    labels = np.asarray(train.labels)
    assert labels.mean() > 0.55  # SST-2 train is mostly positive...
    assert labels[tr].sum() == 500 and labels[va].sum() == 500  # ...the 1k samples are balanced (Table 3: 50.0)


def test_splits_do_not_depend_on_run_seeds():
    first = load_splits.__wrapped__("RTE")
    np.random.seed(999)
    import torch
    torch.manual_seed(999)
    second = load_splits.__wrapped__("RTE")
    assert first == second


def test_subsampling_is_stratified_and_capped():
    splits = load_splits("CoLA", 256, 128)
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [256, 128, 128]
    full = load_splits("CoLA")
    assert abs(np.mean(splits["train"].labels) - np.mean(full["train"].labels)) < 0.01


def test_readers_handle_bom_headerless_and_quotes():
    mrpc = get_task("MRPC").read(get_task("MRPC"), "train")
    assert len(mrpc) == 3668 and not mrpc.text_a[0].startswith("\ufeff")
    cola = get_task("CoLA").read(get_task("CoLA"), "train")
    assert len(cola) == 8551 and cola.text_b is None and set(cola.labels) == {0, 1}
    rte = get_task("RTE").read(get_task("RTE"), "dev")
    assert len(rte) == 277 and set(rte.labels) == {0, 1}
    stsb = get_task("STS-B").read(get_task("STS-B"), "dev")
    assert len(stsb) == 1500 and min(stsb.labels) >= 0 and max(stsb.labels) <= 5


def test_missing_and_corrupted_assets_name_the_file_and_checksum(tmp_path, monkeypatch):
    rel = "data/glue/RTE/dev.tsv"
    expected = assets.manifest()[rel]
    original = assets.asset_path(rel)  # from the configured root, before pointing it elsewhere
    monkeypatch.setenv("SUITE_ASSETS", str(tmp_path))
    with pytest.raises(assets.AssetError, match=f"dev.tsv: missing \\(expected sha256 {expected}\\)"):
        assets.verify(rel)
    target = tmp_path / rel
    target.parent.mkdir(parents=True)
    shutil.copy(original, target)
    assert assets.verify(rel) == target
    with open(target, "ab") as fh:
        fh.write(b"x")
    with pytest.raises(assets.AssetError, match=f"checksum mismatch \\(expected sha256 {expected}, found"):
        assets.verify(rel)
    weights = "models/all-MiniLM-L6-v2/model.safetensors"
    (tmp_path / "models" / "all-MiniLM-L6-v2").mkdir(parents=True)
    with pytest.raises(assets.AssetError, match=f"model.safetensors: checkpoint folder without weights "
                                                 f"\\(expected sha256 {assets.manifest()[weights]}\\)"):
        assets.model_source("all-MiniLM-L6-v2")


def test_unknown_task():
    with pytest.raises(KeyError, match="unknown task 'XNLI'"):
        get_task("XNLI")
