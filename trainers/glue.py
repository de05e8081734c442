"""GLUE readers and the split recipes of Zhang et al. (2021), Sec. 3 and Appendix A (Table 3).

* Small tasks (RTE, MRPC, STS-B, CoLA): the original dev set is shuffled per class with a fixed seed that
  does not depend on the run seed; the first half of each class is validation, the second half test.
* Large tasks (SST-2, QNLI, QQP, MNLI): train is downsampled to 1k, another disjoint 1k from train is
  validation, and the original dev set is test. Both 1k samples are class-balanced: Table 3's majority
  baselines on them are exactly 50.0 (SST-2, QNLI, QQP) and 33.3 (MNLI), whatever the natural class ratio.

Files are read with ``csv.QUOTE_NONE`` (several fields start with ``"``); MRPC files carry a UTF-8 BOM.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import numpy as np

from trainers.assets import AssetError, asset_path, hub_reachable, shipped

SPLIT_SEED = 12345  # fixed, independent of every run seed (Sec. 3)


@dataclass(frozen=True)
class Examples:
    text_a: tuple[str, ...]
    text_b: tuple[str, ...] | None
    labels: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices) -> "Examples":
        idx = [int(i) for i in indices]
        return Examples(
            tuple(self.text_a[i] for i in idx),
            None if self.text_b is None else tuple(self.text_b[i] for i in idx),
            tuple(self.labels[i] for i in idx),
        )


@dataclass(frozen=True)
class Task:
    name: str
    metric: str  # accuracy | f1 | spearman | mcc
    num_labels: int  # 1 = regression
    recipe: str  # small | large
    train_file: str
    dev_file: str
    columns: tuple  # (text_a column, text_b column or None, label column)
    header: bool = True
    encoding: str = "utf-8"
    label_names: tuple[str, ...] = ()

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1


def _glue(name: str, split: str) -> str:
    return f"data/glue/{name}/{split}.tsv"


TASKS: dict[str, Task] = {
    "RTE": Task("RTE", "accuracy", 2, "small", _glue("RTE", "train"), _glue("RTE", "dev"), (1, 2, 3),
                label_names=("entailment", "not_entailment")),
    "MRPC": Task("MRPC", "f1", 2, "small", _glue("MRPC", "train"), _glue("MRPC", "dev"), (3, 4, 0),
                 encoding="utf-8-sig"),
    "STS-B": Task("STS-B", "spearman", 1, "small", _glue("STS-B", "train"), _glue("STS-B", "dev"), (7, 8, 9)),
    "CoLA": Task("CoLA", "mcc", 2, "small", _glue("CoLA", "train"), _glue("CoLA", "dev"), (3, None, 1),
                 header=False),
    "SST-2": Task("SST-2", "accuracy", 2, "large", _glue("SST-2", "train"), _glue("SST-2", "dev"), (0, None, 1)),
    "QNLI": Task("QNLI", "accuracy", 2, "large", _glue("QNLI", "train"), _glue("QNLI", "dev"), (1, 2, 3),
                 label_names=("entailment", "not_entailment")),
    "QQP": Task("QQP", "accuracy", 2, "large", _glue("QQP", "train"), _glue("QQP", "dev"), (3, 4, 5)),
    "MNLI": Task("MNLI", "accuracy", 3, "large", _glue("MNLI", "train"), _glue("MNLI", "dev_matched"), (8, 9, 11),
                 label_names=("contradiction", "entailment", "neutral")),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r} (valid: {', '.join(TASKS)})") from None


# Where the hub keeps GLUE (nyu-mll/glue, parquet) for files the offline assets do not ship:
# task -> (config, {file kind: split}, text columns, hub label index -> our label index).
HUB_GLUE = {
    "SST-2": ("sst2", {"train": "train", "dev": "validation"}, ("sentence", None), None),
    "QNLI": ("qnli", {"train": "train", "dev": "validation"}, ("question", "sentence"), None),
    "QQP": ("qqp", {"train": "train", "dev": "validation"}, ("question1", "question2"), None),
    "MNLI": ("mnli", {"train": "train", "dev": "validation_matched"}, ("premise", "hypothesis"), (1, 2, 0)),
}


def hub_examples(task: Task, kind: str) -> Examples:
    """A GLUE split from the hub's parquet copy (used only when the file is not shipped and the hub is reachable)."""
    import pandas as pd
    from huggingface_hub import hf_hub_download, list_repo_files

    config, splits, (col_a, col_b), remap = HUB_GLUE[task.name]
    prefix = f"{config}/{splits[kind]}-"
    files = sorted(f for f in list_repo_files("nyu-mll/glue", repo_type="dataset") if f.startswith(prefix))
    frame = pd.concat([pd.read_parquet(hf_hub_download("nyu-mll/glue", f, repo_type="dataset")) for f in files])
    labels = [float(remap[y] if remap else y) for y in frame["label"]]
    return Examples(tuple(frame[col_a]), tuple(frame[col_b]) if col_b else None, tuple(labels))


def read_examples(task: Task, kind: str) -> Examples:
    """The train or dev file of a task: the shipped TSV, else the hub's copy when it is reachable."""
    relative = task.train_file if kind == "train" else task.dev_file
    if not shipped(relative) and task.name in HUB_GLUE and hub_reachable():
        return hub_examples(task, kind)
    return read_tsv(task, relative)


def read_tsv(task: Task, relative: str) -> Examples:
    path = asset_path(relative)
    a, b, y = task.columns
    texts_a, texts_b, labels = [], [], []
    with open(path, encoding=task.encoding, newline="") as fh:
        rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if task.header:
            next(rows)
        for line, row in enumerate(rows, start=2 if task.header else 1):
            if not row:
                continue
            try:
                raw = row[y]
                label = float(raw) if task.is_regression else (
                    task.label_names.index(raw) if task.label_names else int(raw))
                texts_a.append(row[a])
                texts_b.append(row[b] if b is not None else "")
                labels.append(label)
            except (IndexError, ValueError) as exc:
                raise AssetError(f"{path}:{line}: malformed row ({exc})") from None
    return Examples(tuple(texts_a), tuple(texts_b) if b is not None else None, tuple(labels))


def strata(task: Task, labels) -> np.ndarray:
    """Class of each example; STS-B scores are binned to their integer part so 'per class' is defined."""
    arr = np.asarray(labels, dtype=float)
    return np.floor(arr).astype(int) if task.is_regression else arr.astype(int)


def stratified_sample(classes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a size-n sample whose class proportions match ``classes`` (largest remainder quotas)."""
    if n >= len(classes):
        return rng.permutation(len(classes))
    values, counts = np.unique(classes, return_counts=True)
    exact = counts * n / counts.sum()
    quota = np.floor(exact).astype(int)
    for j in np.argsort(-(exact - quota), kind="stable")[: n - quota.sum()]:
        quota[j] += 1
    picked = [rng.permutation(np.flatnonzero(classes == v))[:q] for v, q in zip(values, quota)]
    return rng.permutation(np.concatenate(picked))


def balanced_sample(classes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a size-n sample with (as near as possible) equally many examples of each class."""
    values = np.unique(classes)
    quota = np.full(len(values), n // len(values))
    quota[: n - quota.sum()] += 1
    picked = []
    for v, q in zip(values, quota):
        members = np.flatnonzero(classes == v)
        if q > len(members):
            raise ValueError(f"class {v} has {len(members)} examples, fewer than the {q} a balanced sample needs")
        picked.append(rng.permutation(members)[:q])
    return rng.permutation(np.concatenate(picked))


def halve_per_class(classes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle each class; the first half (rounded up) is validation, the rest test."""
    first, second = [], []
    for v in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == v))
        cut = (len(members) + 1) // 2
        first.append(members[:cut])
        second.append(members[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def split_indices(task: Task, train_labels, dev_labels, large_train: int = 1000,
                  large_validation: int = 1000, full_train: bool = False) -> dict[str, tuple[str, np.ndarray]]:
    """Which rows of which file form each split: {split: (file kind 'train' | 'dev', row indices)}.

    ``full_train`` (large tasks; Appendix D's full MNLI): train on every train row outside the validation sample."""
    rng = np.random.default_rng(SPLIT_SEED)
    if task.recipe == "small":
        val_idx, test_idx = halve_per_class(strata(task, dev_labels), rng)
        return {"train": ("train", np.arange(len(train_labels))), "validation": ("dev", val_idx),
                "test": ("dev", test_idx)}
    classes = strata(task, train_labels)
    picked = balanced_sample(classes, large_train + large_validation, rng)
    train_pos = balanced_sample(classes[picked], large_train, rng)
    val_pos = np.setdiff1d(np.arange(len(picked)), train_pos)
    if full_train:
        rest = np.setdiff1d(np.arange(len(train_labels)), picked[val_pos])
        return {"train": ("train", rng.permutation(rest)), "validation": ("train", picked[val_pos]),
                "test": ("dev", np.arange(len(dev_labels)))}
    return {"train": ("train", picked[train_pos]), "validation": ("train", picked[val_pos]),
            "test": ("dev", np.arange(len(dev_labels)))}


@functools.lru_cache(maxsize=32)
def load_splits(task_name: str, train_examples: int | None = None,
                eval_examples: int | None = None, full_train: bool = False) -> dict[str, Examples]:
    """Train/validation/test by the paper's recipe, optionally subsampled (stratified, fixed seed) for small
    profiles."""
    task = get_task(task_name)
    files = {kind: read_examples(task, kind) for kind in ("train", "dev")}
    recipe = split_indices(task, files["train"].labels, files["dev"].labels, full_train=full_train)
    splits = {name: files[kind].take(idx) for name, (kind, idx) in recipe.items()}
    sub_rng = np.random.default_rng(SPLIT_SEED + 1)
    for name, cap in (("train", train_examples), ("validation", eval_examples), ("test", eval_examples)):
        if cap is not None and cap < len(splits[name]):
            data = splits[name]
            splits[name] = data.take(np.sort(stratified_sample(strata(task, data.labels), cap, sub_rng)))
    return splits


def files_for(task_name: str) -> list[str]:
    task = get_task(task_name)
    return [task.train_file, task.dev_file]
