"""The hub-only datasets of Xu et al. (2020), "Improving BERT Fine-Tuning via Self-Ensemble and
Self-Distillation" (Sec. 4.1): Yelp-P, Yelp-F, DBPedia (Zhang et al. 2015's text classification sets) and SNLI;
and the one hub reader every hub-read task shares (AG and IMDb too, ``glue``'s hub copies as well).

None of these files is in the offline assets (data/SOURCES.md, "Not staged"). Each task names asset paths
(``data/<dataset>/<split>.parquet``) that are read when shipped and otherwise come from the dataset's parquet files
on the Hugging Face hub, only when the hub is reachable (like ``glue.read_examples``); with neither,
``pipelines.availability.missing_data`` names the absent files and the trials are planned but not run.

* Yelp-P (fancyzhx/yelp_polarity, 560,000 / 38,000, 2 classes), Yelp-F (fancyzhx/yelp_review_full, 650,000 /
  50,000, 5 classes), DBPedia (fancyzhx/dbpedia_14, 560,000 / 70,000, 14 classes; text = title + " " + content):
  the paper gives train and test only, so validation = a fixed stratified sample of 5,000 training rows and train =
  the other rows (recipe "fixed", ``_base.validation_from_train``); test = the whole test file.
* SNLI (stanfordnlp/snli): premise / hypothesis pairs with their own validation and test splits (recipe
  "given"); rows without a gold label (label -1: 785 of train's 550,152, 158 of validation's 10,000, 176 of
  test's 10,000) are dropped, leaving 549,367 / 9,842 / 9,824. Labels as on the hub: entailment 0, neutral 1,
  contradiction 2.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable

import numpy as np

from trainers.assets import AssetError, asset_path, hub_reachable, shipped
from trainers.tasks._base import SPLIT_SEED, Examples, Task, validation_from_train

HUB_VALIDATION = 5000  # the validation sample drawn from train where the paper has none


@dataclass(frozen=True)
class HubSource:
    """Where a dataset lives on the hub and how its parquet columns become examples."""
    repo: str  # a hub dataset repository, e.g. "fancyzhx/ag_news"
    splits: dict  # file kind -> the hub split
    text: tuple[str, ...]  # columns joined by one space into text_a
    pair: str | None = None  # the text_b column of a pair task
    config: str | None = None  # the folder of the config's parquet files, where a repository holds several
    clean: Callable[[str], str] | None = None  # applied to every text (AG News' escapes)


def hub_frame(repo: str, split: str, config: str | None = None):
    """All rows of one split of a hub dataset: its parquet files (``<split>-NNNNN-of-NNNNN.parquet``, in the
    config's folder when given) downloaded and concatenated in name order."""
    import pandas as pd
    from huggingface_hub import hf_hub_download, list_repo_files

    names = sorted(f for f in list_repo_files(repo, repo_type="dataset")
                   if f.endswith(".parquet") and PurePosixPath(f).name.startswith(f"{split}-")
                   and (config is None or PurePosixPath(f).parent.name == config))
    folders = {str(PurePosixPath(f).parent) for f in names}
    if not names or len(folders) > 1:
        raise AssetError(f"hub dataset {repo}: {len(names)} parquet files of split {split!r} in "
                         f"{sorted(folders) or 'no folder'}{'' if config is None else f' (config {config})'}")
    return pd.concat([pd.read_parquet(hf_hub_download(repo, f, repo_type="dataset")) for f in names],
                     ignore_index=True)


def frame_examples(frame, source: HubSource) -> Examples:
    """Examples of a parquet frame: text_a = the ``text`` columns joined by a space, text_b = ``pair``; rows
    labelled -1 (no gold label) dropped."""
    frame = frame[frame["label"] >= 0]
    clean = source.clean or (lambda s: s)
    texts = [clean(" ".join(str(v) for v in row)) for row in zip(*(frame[c] for c in source.text))]
    pair = tuple(clean(str(v)) for v in frame[source.pair]) if source.pair else None
    return Examples(tuple(texts), pair, tuple(int(y) for y in frame["label"]))


def hub_examples(source: HubSource, kind: str) -> Examples:
    """One file kind of a dataset from the hub's parquet copy."""
    return frame_examples(hub_frame(source.repo, source.splits[kind], source.config), source)


def read(task: Task, kind: str, source: HubSource) -> Examples:
    """The shipped parquet file of one kind, else the hub's copy when the hub is reachable; with neither,
    AssetError names the missing file."""
    relative = task.files[kind]
    if not shipped(relative) and hub_reachable():
        return hub_examples(source, kind)
    import pandas as pd
    return frame_examples(pd.read_parquet(asset_path(relative)), source)


def split_given(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict[str, tuple[str, np.ndarray]]:
    """The dataset's own train / validation / test splits, whole (the seed is ignored)."""
    return {part: (part, np.arange(len(files[part]))) for part in ("train", "validation", "test")}


def split_fixed(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict[str, tuple[str, np.ndarray]]:
    """Validation = a fixed stratified sample of train (SPLIT_SEED; the run seed plays no part)."""
    return validation_from_train(task, files, SPLIT_SEED)


def hub_task(name: str, source: HubSource, rows: tuple[int, ...], label_names: tuple[str, ...],
             folder: str, validation: int = HUB_VALIDATION) -> Task:
    """A hub-read task. ``rows``: (train, test) rows of a dataset without validation (recipe "fixed": a
    ``validation``-row sample of train), or (train, validation, test) of one with its own (recipe "given")."""
    kinds = tuple(source.splits)
    files = {kind: f"data/{folder}/{kind}.parquet" for kind in kinds}
    if len(rows) == 2:
        sizes, recipe, split = (rows[0] - validation, validation, rows[1]), "fixed", split_fixed
    else:
        sizes, recipe, split = tuple(rows), "given", split_given
    return Task(name, "accuracy", len(label_names), recipe, files, sizes, rows[0],
                read=functools.partial(read, source=source), split=split, label_names=label_names)


_TRAIN_TEST = {"train": "train", "test": "test"}
DBPEDIA_CLASSES = ("Company", "EducationalInstitution", "Artist", "Athlete", "OfficeHolder", "MeanOfTransportation",
                   "Building", "NaturalPlace", "Village", "Animal", "Plant", "Album", "Film", "WrittenWork")
ORDER = 6
TASKS: tuple[Task, ...] = (
    hub_task("Yelp-P", HubSource("fancyzhx/yelp_polarity", _TRAIN_TEST, ("text",)), (560000, 38000),
             ("negative", "positive"), "yelp_polarity"),
    hub_task("Yelp-F", HubSource("fancyzhx/yelp_review_full", _TRAIN_TEST, ("text",)), (650000, 50000),
             ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"), "yelp_review_full"),
    hub_task("DBPedia", HubSource("fancyzhx/dbpedia_14", _TRAIN_TEST, ("title", "content")), (560000, 70000),
             DBPEDIA_CLASSES, "dbpedia_14"),
    hub_task("SNLI", HubSource("stanfordnlp/snli", {k: k for k in ("train", "validation", "test")}, ("premise",),
                               pair="hypothesis"),
             (549367, 9842, 9824), ("entailment", "neutral", "contradiction"), "snli"),
)
