"""SST-5: sentence-level fine-grained sentiment from the PTB-style SST trees (Kobyzev et al., Sec. 4.1.1, Table 4).

One tree per line; the root's digit is the sentence label (0-4) and the leaves, read left to right, are the tokens.
The given train/dev/test files are the splits (recipe "given"): 8544 / 1101 / 2210 sentences.

PTB escapes undone in the leaves (all that occur in the three files): ``-LRB-``/``-RRB-`` -> ``(``/``)`` (493/495
leaves), the quote pairs two backticks / two apostrophes -> ``"`` (332/333 leaves), ``\\/`` -> ``/`` (111
occurrences) and ``\\*`` -> ``*`` (25, e.g. the censored ``\\*\\*\\*``). No other backslash escape and no
-LSB-/-LCB- leaf occurs; single quotes (a lone backtick or apostrophe leaf) are kept as they are.
"""
from __future__ import annotations

import re

import numpy as np

from trainers.assets import AssetError, asset_path
from trainers.tasks._base import Examples, Task

LEAF = re.compile(r"\(\d ([^()]+)\)")
ROOT = re.compile(r"\(([0-4]) ")
TOKENS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}",
          "``": '"', "''": '"'}
ESCAPES = (("\\/", "/"), ("\\*", "*"))


def unescape(leaf: str) -> str:
    """One leaf with its PTB escapes undone (whole-token brackets and quote pairs, then backslash escapes)."""
    leaf = TOKENS.get(leaf, leaf)
    for escaped, plain in ESCAPES:
        leaf = leaf.replace(escaped, plain)
    return leaf


def _check_balanced(line: str) -> None:
    """The root's parenthesis must close exactly at the end of the line."""
    depth = 0
    for pos, char in enumerate(line):
        depth += (char == "(") - (char == ")")
        if depth < 0 or (depth == 0 and pos != len(line) - 1):
            raise ValueError(f"unbalanced parentheses at column {pos + 1}")
    if depth != 0:
        raise ValueError(f"{depth} unclosed parentheses")


def parse_tree(line: str) -> tuple[str, int]:
    """(sentence, label) of one SST tree: label = the root's digit, sentence = the unescaped leaves joined by
    spaces. Raises ValueError on a malformed tree."""
    line = line.strip()
    if not ROOT.match(line):
        raise ValueError(f"does not start with a root '(<0-4> ': {line[:40]!r}")
    _check_balanced(line)
    leaves = LEAF.findall(line)
    if not leaves:
        raise ValueError("tree without leaves")
    return " ".join(unescape(leaf) for leaf in leaves), int(line[1])


def read(task: Task, kind: str) -> Examples:
    """The sentences and root labels of one tree file (text_b None); a malformed line raises AssetError with
    file:line."""
    path = asset_path(task.files[kind])
    texts, labels = [], []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                text, label = parse_tree(line)
            except ValueError as exc:
                raise AssetError(f"{path}:{number}: malformed tree ({exc})") from None
            texts.append(text)
            labels.append(label)
    return Examples(tuple(texts), None, tuple(labels))


def split(task: Task, files: dict[str, Examples], seed: int) -> dict[str, tuple[str, np.ndarray]]:
    """The given splits, whole (the full 2210-sentence test set; the seed is ignored)."""
    return {part: (kind, np.arange(len(files[kind])))
            for part, kind in (("train", "train"), ("validation", "dev"), ("test", "test"))}


ORDER = 2
TASK = Task(
    name="SST-5", metric="accuracy", num_labels=5, recipe="given",
    files={kind: f"data/sst5/trees/{kind}.txt" for kind in ("train", "dev", "test")},
    sizes=(8544, 1101, 2210), train_rows=8544, read=read, split=split,
    label_names=("very negative", "negative", "neutral", "positive", "very positive"),
)
TASKS = (TASK,)
