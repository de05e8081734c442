"""The three tasks of the CS224N minBERT multitask project (2023 starter, gpoesia/minbert-default-final-project
@7ac8260; data/SOURCES.md), as the self-distillation study's Siamese multitask trainer uses them
(studies/selfdistill-minbert.md, part D). The course's files are tab-separated despite ``.csv``, with a header
whose first column is unnamed; they are read with ``csv.reader(fh, delimiter="\\t", strict=True)``, which parses
every row of these files as the course's ``csv.DictReader(fh, delimiter="\\t")`` does, and each text is stripped
of surrounding spaces (the course strips too). Unlike the course no text is lower-cased or re-spaced
(``preprocess_string``): that is the tokenizer's business.

* "SST-cs224n" (SST-5, 5 classes, recipe "given"): train = ids-sst-train.csv (8,544 rows), validation =
  ids-sst-dev.csv (1,101), header ``<empty>, id, sentence, sentiment`` (row index 0.., a 25-character id, the
  sentence, 0-4). Test = the real SST-5 test labels: data/sst5/trees/test.txt (2,210 trees), label = the root's
  digit. The csv sentences are the trees' leaves joined by single spaces with the PTB escapes kept (``-LRB-``,
  two backticks / two apostrophes for quotes, ``\\/``, ``\\*``) and one leading space, which the reader strips.
  So the test sentences are the raw leaves joined by spaces (no unescaping, unlike ``sst5``): all 2,210 are then
  identical, in order, to the sentences of the unlabelled ids-sst-test-student.csv, and the same mapping
  reproduces every train (8,544/8,544) and dev (1,101/1,101) sentence and label from its tree.
* "Quora-cs224n" (QQP-derived paraphrase pairs, 2 classes, recipe "fixed"): only quora-dev.csv is shipped
  (20,214 rows; header ``<empty>, id, sentence1, sentence2, is_duplicate``, label ``0.0`` / ``1.0``). Two rows
  have an empty ``is_duplicate`` and are dropped, as the course's loader drops them in its try/except:
  file line 2,577 (index 65479, id ad118c967d683c93883bf072d) and line 14,222 (index 264614, id
  9054345d02cd6c5642a4904dc, whose sentence2 is empty too). The 20,212 pairs are split by groups of pairs that
  share a question (``group_split``, SPLIT_SEED): train 14,212 / validation 2,000 / test 4,000, positive
  rates .373 / .361 / .390, no (normalised) question in two parts. The pairs hold 38,077 distinct normalised
  questions in 17,940 components (largest 63 pairs); the study notes' 38,081 / 17,942 count the two dropped
  rows too (4 more questions, each in no other pair). The order of the components before the permutation
  (``question_groups``) is the one that gives the notes' split. Csv-quoted questions keep what the csv module
  leaves of their quoting (e.g. a leading ``"``), as the course sees them.
* "STS-cs224n" (STS-B-derived similarity, regression 0-5, recipe "fixed"): train = sts-train.csv (6,040 rows);
  validation and test = the two halves of sts-dev.csv (863 rows) by ``glue.halve_per_class`` on floor(score)
  with SPLIT_SEED: 433 / 430 (three of the six floor classes have an odd count, and the larger half of each goes
  to validation). Header ``<empty>, id, sentence1, sentence2, similarity``. Metric: Pearson r, as the course
  scores STS (``evaluation.py``: ``np.corrcoef``).

The *-test-student files have no labels; only ids-sst-test-student.csv is read, by the tests, to check the SST
test sentences.
"""
from __future__ import annotations

import csv

import numpy as np

from trainers.assets import AssetError, asset_path
from trainers.tasks import glue, sst5
from trainers.tasks._base import Examples, Task, strata

SPLIT_SEED = glue.SPLIT_SEED  # 12345: fixed, independent of every run seed
SST_LABELS = sst5.TASK.label_names
QUORA_LABELS = ("not duplicate", "duplicate")
SST_HEADER = ["", "id", "sentence", "sentiment"]
PAIR_HEADERS = {"quora": ["", "id", "sentence1", "sentence2", "is_duplicate"],
                "sts": ["", "id", "sentence1", "sentence2", "similarity"]}
# examples each file yields (Quora: the parsable pairs, 2 of the 20,214 rows dropped)
ROWS = {"data/cs224n_minbert/ids-sst-train.csv": 8544, "data/cs224n_minbert/ids-sst-dev.csv": 1101,
        "data/sst5/trees/test.txt": 2210, "data/cs224n_minbert/quora-dev.csv": 20212,
        "data/cs224n_minbert/sts-train.csv": 6040, "data/cs224n_minbert/sts-dev.csv": 863}


def _rows(relative: str, header: list[str]):
    """(file line, fields) of every data row of a course csv; a wrong header, a row with another number of
    fields or a csv error raises AssetError with file:line."""
    path = asset_path(relative)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, delimiter="\t", strict=True)
        try:
            first = next(rows, None)
            if first != header:
                raise AssetError(f"{path}:1: header {first} is not {header}")
            for row in rows:
                if len(row) != len(header):
                    raise AssetError(f"{path}:{rows.line_num}: malformed row ({len(row)} fields, expected "
                                     f"{len(header)}: {str(row)[:60]})")
                yield rows.line_num, row
        except csv.Error as exc:
            raise AssetError(f"{path}:{rows.line_num}: malformed row ({exc})") from None


def _checked(relative: str, examples: Examples) -> Examples:
    if len(examples) != ROWS[relative]:
        raise AssetError(f"{asset_path(relative)}: {len(examples)} examples, expected {ROWS[relative]}")
    return examples


def tree_sentence(line: str) -> tuple[str, int]:
    """(sentence, label) of one SST tree in the course's csv style: the raw leaves (PTB escapes kept) joined by
    single spaces, label = the root's digit. Raises ValueError on a malformed tree (``sst5.parse_tree``)."""
    _, label = sst5.parse_tree(line)
    return " ".join(sst5.LEAF.findall(line.strip())), label


def read_sst(task: Task, kind: str) -> Examples:
    """train / dev: (sentence, sentiment) of every csv row; test: the SST-5 test trees in the csv style
    (``tree_sentence``). A malformed row or tree, or a row count other than ROWS, raises AssetError."""
    relative = task.files[kind]
    texts, labels = [], []
    if relative.endswith(".txt"):
        path = asset_path(relative)
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    text, label = tree_sentence(line)
                except ValueError as exc:
                    raise AssetError(f"{path}:{number}: malformed tree ({exc})") from None
                texts.append(text)
                labels.append(label)
    else:
        for line, row in _rows(relative, SST_HEADER):
            if row[0] != str(len(labels)) or row[3] not in ("0", "1", "2", "3", "4") or not row[2].strip():
                raise AssetError(f"{asset_path(relative)}:{line}: malformed row (expected index {len(labels)}, id, "
                                 f"sentence, sentiment 0-4; got {str(row)[:60]})")
            texts.append(row[2].strip())
            labels.append(int(row[3]))
    return _checked(relative, Examples(tuple(texts), None, tuple(labels)))


def read_pairs(task: Task, kind: str) -> Examples:
    """(sentence1, sentence2, label) of every pair. Quora: a row whose is_duplicate is not a number is dropped
    (the course's try/except: the 2 rows of the module docstring), a number other than 0 / 1 raises; STS: a
    similarity that is not a number in [0, 5] raises. AssetError with file:line."""
    relative = task.files[kind]
    quora = task.name.startswith("Quora")
    texts_a, texts_b, labels = [], [], []
    for line, row in _rows(relative, PAIR_HEADERS["quora" if quora else "sts"]):
        try:
            value = float(row[4])
            label = int(value) if quora else value  # Quora: int(float(...)), as the course
        except (ValueError, OverflowError):
            if quora:
                continue  # the course's try/except
            label = value = float("nan")
        if not (value in (0.0, 1.0) if quora else 0.0 <= value <= 5.0):
            raise AssetError(f"{asset_path(relative)}:{line}: malformed label {row[4]!r}")
        texts_a.append(row[2].strip())
        texts_b.append(row[3].strip())
        labels.append(label)
    return _checked(relative, Examples(tuple(texts_a), tuple(texts_b), tuple(labels)))


def normalise_question(text: str) -> str:
    """The key under which two questions count as the same: lower-cased, whitespace runs collapsed."""
    return " ".join(text.lower().split())


def question_groups(text_a, text_b) -> list[np.ndarray]:
    """The pairs grouped into connected components of the question graph (pairs that share a normalised
    question, directly or through a chain of pairs, are in one component). Canonical order: questions are
    numbered in sorted order of their normalised strings; a union-find visits the pairs in order and links the
    root of the first question's component under the root of the second's; components are ordered by the
    number of their root question, pairs within one in file order."""
    keys_a = [normalise_question(q) for q in text_a]
    keys_b = [normalise_question(q) for q in text_b]
    if len(keys_a) != len(keys_b):
        raise ValueError(f"{len(keys_a)} first questions but {len(keys_b)} second ones")
    number = {q: i for i, q in enumerate(sorted(set(keys_a) | set(keys_b)))}
    parent = list(range(len(number)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(keys_a, keys_b):
        ra, rb = root(number[a]), root(number[b])
        if ra != rb:
            parent[ra] = rb
    roots = np.array([root(number[a]) for a in keys_a], dtype=np.int64)
    order = np.argsort(roots, kind="stable")
    cuts = np.flatnonzero(np.diff(roots[order])) + 1
    return np.split(order, cuts) if len(order) else []


def group_split(text_a, text_b, sizes: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test pairs (sorted indices) such that no normalised question is in two parts.
    ``sizes`` = (validation, test): the least number of pairs of each. The components of ``question_groups``
    are permuted with ``np.random.default_rng(seed)``; whole components go to test until it holds at least
    sizes[1] pairs, then to validation until it holds at least sizes[0], and every other component to train.
    Raises ValueError when the pairs cannot fill validation and test."""
    if len(sizes) != 2:
        raise ValueError(f"sizes must be (validation, test) pair counts, got {sizes}")
    groups = question_groups(text_a, text_b)
    targets = (int(sizes[1]), int(sizes[0]))  # filled in this order: test, validation
    parts: list[list[np.ndarray]] = [[], [], []]  # test, validation, train
    filled, k = [0, 0], 0
    for g in np.random.default_rng(seed).permutation(len(groups)):
        while k < 2 and filled[k] >= targets[k]:
            k += 1
        parts[k].append(groups[g])
        if k < 2:
            filled[k] += len(groups[g])
    if filled[0] < targets[0] or filled[1] < targets[1]:
        raise ValueError(f"{len(text_a)} pairs cannot fill validation {sizes[0]} and test {sizes[1]}")
    test, val, train = (np.sort(np.concatenate(p)) if p else np.zeros(0, dtype=np.int64) for p in parts)
    return train, val, test


def split_quora(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict[str, tuple]:
    """quora-dev split by ``group_split`` with SPLIT_SEED (the run seed plays no part); a result other than
    task.sizes raises AssetError (the file is not the shipped one)."""
    dev = files["dev"]
    parts = group_split(dev.text_a, dev.text_b, task.sizes[1:], SPLIT_SEED)
    got = tuple(len(p) for p in parts)
    if got != task.sizes:
        raise AssetError(f"{task.name}: group split gives {got} pairs, expected {task.sizes}")
    return {name: ("dev", idx) for name, idx in zip(("train", "validation", "test"), parts)}


def split_sts(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict[str, tuple]:
    """The whole train file; dev halved per floor(score) by glue.halve_per_class with SPLIT_SEED (the larger
    half of each class to validation; the run seed plays no part)."""
    val_idx, test_idx = glue.halve_per_class(strata(task, files["dev"].labels), np.random.default_rng(SPLIT_SEED))
    return {"train": ("train", np.arange(len(files["train"]))), "validation": ("dev", val_idx),
            "test": ("dev", test_idx)}


DATA = "data/cs224n_minbert"
SINGLE_TASKS: tuple[Task, ...] = (
    Task(name="SST-cs224n", metric="accuracy", num_labels=5, recipe="given",
         files={"train": f"{DATA}/ids-sst-train.csv", "dev": f"{DATA}/ids-sst-dev.csv",
                "test": "data/sst5/trees/test.txt"},
         sizes=(8544, 1101, 2210), train_rows=8544, read=read_sst, split=sst5.split, label_names=SST_LABELS),
    Task(name="Quora-cs224n", metric="accuracy", num_labels=2, recipe="fixed",
         files={"dev": f"{DATA}/quora-dev.csv"},
         sizes=(14212, 2000, 4000), train_rows=20212, read=read_pairs, split=split_quora,
         label_names=QUORA_LABELS),
    Task(name="STS-cs224n", metric="pearson", num_labels=1, recipe="fixed",
         files={"train": f"{DATA}/sts-train.csv", "dev": f"{DATA}/sts-dev.csv"},
         sizes=(6040, 433, 430), train_rows=6040, read=read_pairs, split=split_sts),
)

# The reports' multitask setting: one model over the three tasks (trainers.multitask); its files are its parts'.
MULTITASK = Task(name="minBERT", metric="dev_score", num_labels=0, recipe="given",
                 files={f"{t.name}:{kind}": path for t in SINGLE_TASKS for kind, path in t.files.items()},
                 sizes=tuple(sum(t.sizes[k] for t in SINGLE_TASKS) for k in range(3)),
                 train_rows=sum(t.train_rows for t in SINGLE_TASKS), parts=tuple(t.name for t in SINGLE_TASKS))
ORDER = 7
TASKS = (*SINGLE_TASKS, MULTITASK)
