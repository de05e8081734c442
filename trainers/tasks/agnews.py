"""AG News (Zhang, Zhao and LeCun 2015), as Xu et al. (2020) fine-tune on it (Sec. 4.1: 120,000 train / 7,600
test, 4 classes), and AG-proxy, its offline stand-in.

The CSV of Zhang et al. (readme.txt): no header; class index 1-4, title, description, quoted with ``"`` and
internal quotes doubled (read with the csv module). Labels 0-3 in classes.txt's order: World, Sports, Business,
Sci/Tech. Text = title + " " + description (the hub's ``text`` column is the same join), cleaned as follows
(``clean``), on the CSV and the hub's copy alike:

* ``\\$`` is an escaped dollar sign (656 in test.csv, e.g. ``over \\$1 billion``) -> ``$``;
* every other backslash is what is left of a line break (the readme's ``\\n`` lost its ``n``: ``second\\team``);
  each run of backslashes (``\\\\`` between paragraphs) -> one space;
* HTML character references whose ``&`` became a space, `` #39;`` (2,789), `` #36;`` (71), `` #151;`` (43),
  `` #146;``, `` #145;``, `` #147;``, `` #148;``, `` #8212;``, `` #038;``, are decoded with ``html.unescape``
  together with that space (``it #39;s`` -> ``it's``, ``the  #36;10`` -> ``the $10``, ``#151;`` -> an em dash,
  as HTML reads code points 128-159);
* entity-escaped markup (``&lt;TXN.N&gt;``, ``&lt;A HREF=...&gt;``, 301 rows) and runs of spaces are left as they
  are.

Only test.csv is shipped (data/SOURCES.md):

* "AG-proxy": test.csv's 7,600 rows (1,900 per class) split once with a fixed seed into stratified train 4,000 /
  validation 1,000 / test 2,600 (recipe "fixed"): 1,000 / 250 / 650 per class.
* "AG": the paper's data: train.csv (not shipped: read from the hub's fancyzhx/ag_news when reachable) and
  test.csv. The paper has no dev set; our validation is a fixed stratified sample of 5,000 training rows, train
  the other 115,000, test the whole test file (recipe "fixed").
"""
from __future__ import annotations

import csv
import html
import re

import numpy as np

from trainers.assets import AssetError, asset_path, hub_reachable, shipped
from trainers.tasks import hub_text
from trainers.tasks._base import Examples, Task, fixed_split

SPLIT_SEED = hub_text.SPLIT_SEED  # = glue.SPLIT_SEED: fixed, independent of every run seed
CLASSES = ("World", "Sports", "Business", "Sci/Tech")  # classes.txt, line i = class index i + 1
TRAIN, TEST = "data/ag_news/train.csv", "data/ag_news/test.csv"
ROWS = {TRAIN: 120000, TEST: 7600}  # readme.txt: 30,000 and 1,900 per class
BACKSLASHES = re.compile(r"\\+")
CHARREF = re.compile(r" #(\d+);")


def clean(text: str) -> str:
    """One AG News text with its escapes undone as the module docstring says."""
    text = BACKSLASHES.sub(" ", text.replace("\\$", "$"))
    return CHARREF.sub(lambda m: html.unescape(f"&#{m.group(1)};"), text)


HUB = hub_text.HubSource("fancyzhx/ag_news", {"train": "train", "test": "test"}, ("text",), clean=clean)


def read_csv(relative: str) -> Examples:
    """(cleaned title + " " + description, class index - 1) of every row; a malformed row or a row count other
    than ROWS raises AssetError with file:line."""
    path = asset_path(relative)
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, strict=True)
        try:
            for row in rows:
                if len(row) != 3 or row[0] not in ("1", "2", "3", "4"):
                    raise AssetError(f"{path}:{rows.line_num}: malformed row (expected class 1-4, title, "
                                     f"description; got {len(row)} fields starting {str(row)[:60]})")
                texts.append(clean(f"{row[1]} {row[2]}"))
                labels.append(int(row[0]) - 1)
        except csv.Error as exc:
            raise AssetError(f"{path}:{rows.line_num}: malformed row ({exc})") from None
    if relative in ROWS and len(labels) != ROWS[relative]:
        raise AssetError(f"{path}: {len(labels)} rows, expected {ROWS[relative]}")
    return Examples(tuple(texts), None, tuple(labels))


def read(task: Task, kind: str) -> Examples:
    """The shipped CSV of one kind, else (train.csv) the hub's copy when the hub is reachable; with neither,
    AssetError names the missing file."""
    relative = task.files[kind]
    if not shipped(relative) and hub_reachable():
        return hub_text.hub_examples(HUB, kind)
    return read_csv(relative)


def split_proxy(task: Task, files: dict[str, Examples], seed: int | None = None) -> dict[str, tuple[str, np.ndarray]]:
    """AG-proxy: test.csv split by _base.fixed_split with SPLIT_SEED (the run seed plays no part)."""
    parts = fixed_split(task, files["test"].labels, SPLIT_SEED)
    return {name: ("test", idx) for name, idx in zip(("train", "validation", "test"), parts)}


ORDER = 4
TASKS: tuple[Task, ...] = (
    Task(name="AG-proxy", metric="accuracy", num_labels=4, recipe="fixed", files={"test": TEST},
         sizes=(4000, 1000, 2600), train_rows=7600, read=read, split=split_proxy, label_names=CLASSES),
    Task(name="AG", metric="accuracy", num_labels=4, recipe="fixed", files={"train": TRAIN, "test": TEST},
         sizes=(115000, 5000, 7600), train_rows=120000, read=read, split=hub_text.split_fixed, label_names=CLASSES),
)
