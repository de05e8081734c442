"""What every task shares: its examples, its description (metric, files, split recipe, sizes), and the
class-aware sampling the split recipes use."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


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

    @staticmethod
    def concat(parts: "list[Examples]") -> "Examples":
        """The examples of several files, one after another (a split recipe's pooled file kinds)."""
        pair = all(p.text_b is not None for p in parts)
        if not pair and any(p.text_b is not None for p in parts):
            raise ValueError("cannot pool single-text and pair examples")
        return Examples(tuple(t for p in parts for t in p.text_a),
                        tuple(t for p in parts for t in p.text_b) if pair else None,
                        tuple(y for p in parts for y in p.labels))


# How a task's files become train / validation / test:
# small, large: Zhang et al. (2021) Sec. 3 (trainers.tasks.glue); given: the files' own splits;
# per_seed: drawn anew for every data seed (FewRel, Kobyzev et al. Appendix B.1);
# fixed: split once from the task's files with a fixed seed that no run seed changes (fixed_split,
# validation_from_train): the stand-ins of Xu et al. (2020) and the validation samples their datasets lack.
RECIPES = ("small", "large", "given", "per_seed", "fixed")
SPLIT_SEED = 12345  # the fixed recipes' seed (Zhang et al. Sec. 3): independent of every run seed


@dataclass(frozen=True)
class Task:
    """A task in the registry. ``read(task, kind)`` returns the examples of one file kind; ``split(task, files,
    seed)`` returns {split: (file kind, row indices)} (``seed`` only matters for the per_seed recipe). The file
    kind may be a tuple of kinds: their examples pooled in that order (Examples.concat)."""
    name: str
    metric: str  # accuracy | f1 | spearman | mcc
    num_labels: int  # 1 = regression
    recipe: str  # one of RECIPES
    files: dict[str, str]  # file kind -> asset path under the assets root (checksummed before a trial starts)
    sizes: tuple[int, int, int]  # train / validation / test rows the recipe makes from the full files
    train_rows: int  # rows of the training file (Figure 1's step counts, full_train)
    read: Callable = field(repr=False, compare=False, default=None)
    split: Callable = field(repr=False, compare=False, default=None)
    label_names: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()  # a multitask task: the tasks its one model trains on together (trainers.multitask)

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1


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


def fixed_split(task: Task, labels, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test rows of one pool of examples for the "fixed" recipe: stratified samples of
    ``task.sizes`` drawn in that order, each from the rows the earlier ones left (largest remainder quotas), with
    ``np.random.default_rng(seed)``; each part sorted (file order). Disjoint; sizes that add up to the pool use
    every row."""
    classes = strata(task, labels)
    if sum(task.sizes) > len(classes):
        raise ValueError(f"{task.name}: sizes {task.sizes} need {sum(task.sizes)} rows, the pool has {len(classes)}")
    rng = np.random.default_rng(seed)
    left, parts = np.arange(len(classes)), []
    for n in task.sizes:
        taken = left[stratified_sample(classes[left], n, rng)]
        parts.append(np.sort(taken))
        left = np.setdiff1d(left, taken)
    return tuple(parts)


def validation_from_train(task: Task, files: dict[str, Examples], seed: int) -> dict[str, tuple[str, np.ndarray]]:
    """The "fixed" recipe of a dataset published without a validation set: validation = a stratified sample of
    ``task.sizes[1]`` training rows (``np.random.default_rng(seed)``), train = every other training row, test =
    the whole test file; indices sorted."""
    rng = np.random.default_rng(seed)
    val_idx = np.sort(stratified_sample(strata(task, files["train"].labels), task.sizes[1], rng))
    return {"train": ("train", np.setdiff1d(np.arange(len(files["train"])), val_idx)),
            "validation": ("train", val_idx), "test": ("test", np.arange(len(files["test"])))}
