"""IMDb (Maas et al. 2011) as Xu et al. (2020) fine-tune on it (Sec. 4.1: 25,000 train / 25,000 test, 2 classes),
and IMDb-proxy, its offline stand-in from the CS224N minBERT project's IMDb subset (data/SOURCES.md).

* "IMDb-proxy": ids-cfimdb-train.csv (1,707 rows) and ids-cfimdb-dev.csv (245 rows) pooled, train then dev
  (1,952 rows: 979 negative, 973 positive), split once with a fixed seed into stratified train 1,202 / validation
  250 / test 500 (recipe "fixed", ``_base.fixed_split``). ids-cfimdb-test-student.csv has no labels: not used.
  The files are tab-separated with the header ``<empty>, id, sentence, sentiment``: a row index, a 25-character
  id, the review (tokenised, lower and upper case kept) and 0 (negative) / 1 (positive). They are read as the
  course's loader reads them (``csv.DictReader(fh, delimiter="\\t")``, text stripped of surrounding spaces):
  692 + 108 reviews that contain ``"`` are csv-quoted, and what the csv module leaves of their repeated quoting
  (three ``"`` before and after the review, ``"" ""`` for an inner quote) is kept as the course sees it.
* "IMDb": the paper's data, not shipped: read from the hub's stanfordnlp/imdb (parquet: text, label) when
  reachable (``hub_text``; the reviews as the hub has them, ``<br />`` tags included). The paper has no dev set;
  our validation is a fixed stratified sample of 2,500 training rows, train the other 22,500, test the whole
  25,000-row test split (recipe "fixed").
"""
from __future__ import annotations

import csv

from trainers.assets import AssetError, asset_path
from trainers.tasks import hub_text
from trainers.tasks._base import Examples, Task, fixed_split

SPLIT_SEED = hub_text.SPLIT_SEED  # = glue.SPLIT_SEED: fixed, independent of every run seed
LABELS = ("negative", "positive")
HEADER = ["", "id", "sentence", "sentiment"]
ROWS = {"train": 1707, "dev": 245}


def read(task: Task, kind: str) -> Examples:
    """(review, sentiment) of every row of one file; a malformed row (fields, index, label) or a row count
    other than ROWS raises AssetError with file:line."""
    path = asset_path(task.files[kind])
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, delimiter="\t", strict=True)
        try:
            header = next(rows, None)
            if header != HEADER:
                raise AssetError(f"{path}:1: header {header} is not {HEADER}")
            for row in rows:
                if len(row) != 4 or row[0] != str(len(labels)) or row[3] not in ("0", "1") or not row[2].strip():
                    raise AssetError(f"{path}:{rows.line_num}: malformed row (expected index {len(labels)}, id, "
                                     f"sentence, sentiment 0/1; got {len(row)} fields starting {str(row)[:60]})")
                texts.append(row[2].strip())
                labels.append(int(row[3]))
        except csv.Error as exc:
            raise AssetError(f"{path}:{rows.line_num}: malformed row ({exc})") from None
    if len(labels) != ROWS[kind]:
        raise AssetError(f"{path}: {len(labels)} rows, expected {ROWS[kind]}")
    return Examples(tuple(texts), None, tuple(labels))


def split_proxy(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict[str, tuple]:
    """Train + dev pooled (in that order), split by _base.fixed_split with SPLIT_SEED (the run seed plays no
    part); indices into the pool."""
    pool = ("train", "dev")
    labels = [y for kind in pool for y in files[kind].labels]
    parts = fixed_split(task, labels, SPLIT_SEED)
    return {name: (pool, idx) for name, idx in zip(("train", "validation", "test"), parts)}


ORDER = 5
TASKS: tuple[Task, ...] = (
    Task(name="IMDb-proxy", metric="accuracy", num_labels=2, recipe="fixed",
         files={kind: f"data/cs224n_minbert/ids-cfimdb-{kind}.csv" for kind in ("train", "dev")},
         sizes=(1202, 250, 500), train_rows=1952, read=read, split=split_proxy, label_names=LABELS),
    hub_text.hub_task("IMDb", hub_text.HubSource("stanfordnlp/imdb", {"train": "train", "test": "test"}, ("text",)),
                      (25000, 25000), LABELS, "imdb", validation=2500),
)
