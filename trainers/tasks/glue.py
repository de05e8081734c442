"""GLUE readers and the split recipes of Zhang et al. (2021), Sec. 3 and Appendix A (Table 3).

* Small tasks (RTE, MRPC, STS-B, CoLA): the original dev set is shuffled per class with a fixed seed that
  does not depend on the run seed; the first half of each class is validation, the second half test.
* Large tasks (SST-2, QNLI, QQP, MNLI): train is downsampled to 1k, another disjoint 1k from train is
  validation, and the original dev set is test. Both 1k samples are class-balanced: Table 3's majority
  baselines on them are exactly 50.0 (SST-2, QNLI, QQP) and 33.3 (MNLI), whatever the natural class ratio.

Files are read with ``csv.QUOTE_NONE`` (several fields start with ``"``); MRPC files carry a UTF-8 BOM.

QNLI-proxy (a stand-in for Xu et al. 2020's QNLI-scale NLI data, recipe "fixed"): QNLI's shipped dev.tsv (5,463
rows, read as QNLI is) split once with SPLIT_SEED into stratified train 2,000 / validation 1,000 / test 2,463
(``_base.fixed_split``).
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

import numpy as np

from trainers.assets import AssetError, asset_path, hub_reachable, shipped
from trainers.tasks._base import SPLIT_SEED, Examples, Task, balanced_sample, fixed_split, strata
from trainers.tasks.hub_text import hub_frame


@dataclass(frozen=True)
class TsvFormat:
    """Where a GLUE TSV keeps its fields."""
    columns: tuple  # (text_a column, text_b column or None, label column)
    header: bool = True
    encoding: str = "utf-8"


LARGE_TRAIN = LARGE_VALIDATION = 1000  # Table 3: the large tasks' 1k downsampled train and validation sets


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
    config, splits, (col_a, col_b), remap = HUB_GLUE[task.name]
    frame = hub_frame("nyu-mll/glue", splits[kind], config)
    labels = [float(remap[y] if remap else y) for y in frame["label"]]
    return Examples(tuple(frame[col_a]), tuple(frame[col_b]) if col_b else None, tuple(labels))


def read_examples(task: Task, kind: str, fmt: TsvFormat) -> Examples:
    """The train or dev file of a task: the shipped TSV, else the hub's copy when it is reachable."""
    relative = task.files[kind]
    if not shipped(relative) and task.name in HUB_GLUE and hub_reachable():
        return hub_examples(task, kind)
    return read_tsv(task, relative, fmt)


def read_tsv(task: Task, relative: str, fmt: TsvFormat) -> Examples:
    path = asset_path(relative)
    a, b, y = fmt.columns
    texts_a, texts_b, labels = [], [], []
    with open(path, encoding=fmt.encoding, newline="") as fh:
        rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if fmt.header:
            next(rows)
        for line, row in enumerate(rows, start=2 if fmt.header else 1):
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


def halve_per_class(classes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle each class; the first half (rounded up) is validation, the rest test."""
    first, second = [], []
    for v in np.unique(classes):
        members = rng.permutation(np.flatnonzero(classes == v))
        cut = (len(members) + 1) // 2
        first.append(members[:cut])
        second.append(members[cut:])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def split_indices(task: Task, train_labels, dev_labels, large_train: int = LARGE_TRAIN,
                  large_validation: int = LARGE_VALIDATION, full_train: bool = False,
                  dev_halves: bool = False) -> dict[str, tuple[str, np.ndarray]]:
    """Which rows of which file form each split: {split: (file kind 'train' | 'dev', row indices)}.

    ``full_train`` (large tasks; Appendix D's full MNLI): train on every train row outside the validation sample.
    ``dev_halves`` (large tasks as the label-regularization paper uses them): the small tasks' recipe, the whole
    train file and dev halved per class (GLUE's test labels are not public)."""
    rng = np.random.default_rng(SPLIT_SEED)
    if task.recipe == "small" or dev_halves:
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


def split(task: Task, files: dict[str, Examples], seed: int | None = None, full_train: bool = False,
          dev_halves: bool = False) -> dict:
    """Zhang et al.'s recipe for the task; the run seed plays no part (SPLIT_SEED is fixed)."""
    return split_indices(task, files["train"].labels, files["dev"].labels, full_train=full_train,
                         dev_halves=dev_halves)


def _glue(name: str, metric: str, num_labels: int, recipe: str, rows: tuple[int, int], fmt: TsvFormat,
          label_names: tuple = (), halves: tuple[int, int] = (0, 0)) -> Task:
    """``rows``: the full train and dev files' rows (Table 3); ``halves``: a small task's validation/test halves
    of dev (each class halved, the larger half to validation)."""
    train_rows, dev_rows = rows
    sizes = (train_rows, *halves) if recipe == "small" else (LARGE_TRAIN, LARGE_VALIDATION, dev_rows)
    dev = "dev_matched" if name == "MNLI" else "dev"
    files = {"train": f"data/glue/{name}/train.tsv", "dev": f"data/glue/{name}/{dev}.tsv"}
    return Task(name, metric, num_labels, recipe, files, sizes, train_rows,
                read=functools.partial(read_examples, fmt=fmt), split=split, label_names=label_names)


def split_proxy(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict:
    """QNLI-proxy: dev split by _base.fixed_split with SPLIT_SEED (the run seed plays no part)."""
    parts = fixed_split(task, files["dev"].labels, SPLIT_SEED)
    return {name: ("dev", idx) for name, idx in zip(("train", "validation", "test"), parts)}


_PAIR = ("entailment", "not_entailment")
QNLI_FORMAT = TsvFormat((1, 2, 3))
ORDER = 1
TASKS: tuple[Task, ...] = (
    _glue("RTE", "accuracy", 2, "small", (2490, 277), TsvFormat((1, 2, 3)), _PAIR, halves=(139, 138)),
    _glue("MRPC", "f1", 2, "small", (3668, 408), TsvFormat((3, 4, 0), encoding="utf-8-sig"), halves=(205, 203)),
    _glue("STS-B", "spearman", 1, "small", (5749, 1500), TsvFormat((7, 8, 9)), halves=(751, 749)),
    _glue("CoLA", "mcc", 2, "small", (8551, 1043), TsvFormat((3, None, 1), header=False), halves=(522, 521)),
    _glue("SST-2", "accuracy", 2, "large", (67349, 872), TsvFormat((0, None, 1))),
    _glue("QNLI", "accuracy", 2, "large", (104743, 5463), QNLI_FORMAT, _PAIR),
    _glue("QQP", "accuracy", 2, "large", (363846, 40430), TsvFormat((3, 4, 5))),
    _glue("MNLI", "accuracy", 3, "large", (392702, 9815), TsvFormat((8, 9, 11)),
          ("contradiction", "entailment", "neutral")),
    Task("QNLI-proxy", "accuracy", 2, "fixed", {"dev": "data/glue/QNLI/dev.tsv"}, (2000, 1000, 2463), 5463,
         read=functools.partial(read_examples, fmt=QNLI_FORMAT), split=split_proxy, label_names=_PAIR),
)
