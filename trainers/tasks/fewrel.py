"""FewRel-16: relation classification as 16-way text classification (Kobyzev et al., Sec. 4.1.2, Appendix B.1).

The paper used FewRel's train_wiki.json (64 relations x 700); only val_wiki.json (16 relations x 700, FewRel 1.0
validation relations) is shipped, so this is the paper's construction on that file. The file maps each relation id
to its instances ``{"tokens": [...], "h": [name, wikidata id, [[token positions]]], "t": [...]}``. Each instance
becomes the pair (context, ``"<head> [SEP] <tail>"``), the paper's "context, head, and tail ... into one piece of
text" (Sec. 4.1.2).
"""
from __future__ import annotations

import json

import numpy as np

from trainers.assets import AssetError, asset_path
from trainers.tasks._base import Examples, Task

# Relation ids of val_wiki.json, sorted as strings: label i is RELATIONS[i].
RELATIONS = ("P155", "P177", "P206", "P2094", "P25", "P26", "P361", "P364",
             "P40", "P410", "P412", "P413", "P463", "P59", "P641", "P921")
PER_RELATION = 700
PARTS = (("train", 500), ("validation", 100), ("test", 100))  # Appendix B.1: first 500, next 100, last 100


def pair(instance: dict) -> tuple[str, str]:
    """(text_a, text_b) of one instance: the tokens joined by spaces, and head and tail entity names."""
    return " ".join(instance["tokens"]), f"{instance['h'][0]} [SEP] {instance['t'][0]}"


def read(task: Task, kind: str) -> Examples:
    """All instances, relation after relation (sorted ids), in file order within a relation; label = index of
    the relation in RELATIONS. A file whose relations or structure differ raises AssetError."""
    path = asset_path(task.files[kind])
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if tuple(sorted(data)) != RELATIONS:
        raise AssetError(f"{path}: relations {sorted(data)} are not the 16 of FewRel val_wiki {list(RELATIONS)}")
    texts_a, texts_b, labels = [], [], []
    for label, relation in enumerate(RELATIONS):
        for number, instance in enumerate(data[relation]):
            try:
                a, b = pair(instance)
            except (KeyError, IndexError, TypeError) as exc:
                raise AssetError(f"{path}: {relation}[{number}]: malformed instance ({exc!r})") from None
            texts_a.append(a)
            texts_b.append(b)
            labels.append(label)
    return Examples(tuple(texts_a), tuple(texts_b), tuple(labels))


def split(task: Task, files: dict[str, Examples], seed: int) -> dict[str, tuple[str, np.ndarray]]:
    """Appendix B.1, anew for each data seed: for each relation (sorted), a fresh
    ``np.random.RandomState(seed).permutation(700)`` of that relation's rows (file order), then the first 500 go
    to train, the next 100 to validation, the last 100 to test. Being fresh per relation, the permutation is the
    same for every relation (the same within-relation positions land in each part). Row indices into the "all"
    examples, relation after relation; the same seed gives the same split."""
    labels = np.asarray(files["all"].labels, dtype=int)
    parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in PARTS}
    for label in range(len(RELATIONS)):
        rows = np.flatnonzero(labels == label)
        if len(rows) != PER_RELATION:
            raise ValueError(f"relation {RELATIONS[label]} has {len(rows)} instances, not {PER_RELATION}")
        shuffled = rows[np.random.RandomState(seed).permutation(PER_RELATION)]
        start = 0
        for name, size in PARTS:
            parts[name].append(shuffled[start:start + size])
            start += size
    return {name: ("all", np.concatenate(chunks)) for name, chunks in parts.items()}


ORDER = 3
TASK = Task(
    name="FewRel", metric="accuracy", num_labels=16, recipe="per_seed",
    files={"all": "data/fewrel/val_wiki.json"},
    sizes=(8000, 1600, 1600), train_rows=11200, read=read, split=split, label_names=RELATIONS,
)
TASKS = (TASK,)
