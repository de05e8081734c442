"""The task registry: every task the papers train on, with its reader, split recipe and sizes.

One module per file format: ``glue`` (GLUE TSV with Zhang et al.'s split recipes, and the QNLI-proxy),
``sst5`` (the PTB trees of SST-5), ``fewrel`` (FewRel's JSON, split anew per seed: Kobyzev et al. Appendix B.1),
``agnews`` (AG News CSV: AG and AG-proxy), ``cfimdb`` (the CS224N IMDb subset: IMDb-proxy; and IMDb from the hub),
``hub_text`` (Xu et al.'s hub-only datasets: Yelp-P, Yelp-F, DBPedia, SNLI, and the one hub reader they share),
``cs224n`` (the CS224N minBERT multitask tasks: SST-cs224n, Quora-cs224n split by question groups, STS-cs224n).
A task's split may depend on the run's data seed (recipe ``per_seed``), and then so do its cached tokens.

Each non-underscore module here defines ``TASKS`` (a tuple of Task) and ``ORDER`` (where its tasks come in the
registry, and so in every list of valid tasks: the modules by ORDER, each one's tasks in its own order; a new module
takes the next number). The registry finds them, so adding a task touches only its own file; ``_base`` is what
they share.
"""
from __future__ import annotations

import functools

import numpy as np

from trainers.plugins import plugin_modules
from trainers.tasks._base import RECIPES, SPLIT_SEED, Examples, Task, stratified_sample, strata


def _discover() -> dict[str, Task]:
    """{name: task} over the task modules' TASKS, the modules by (ORDER, name); a task name defined twice is an
    error naming both modules."""
    modules = plugin_modules(__name__, __path__)
    found: dict[str, Task] = {}
    where: dict[str, str] = {}
    for module in sorted(modules, key=lambda m: (m.ORDER, m.__name__)):
        for task in module.TASKS:
            if task.name in found:
                raise ValueError(f"task {task.name!r} defined twice: in {where[task.name]} and {module.__name__}")
            found[task.name], where[task.name] = task, module.__name__
    return found


TASKS: dict[str, Task] = _discover()
SUBSAMPLE_SEED = SPLIT_SEED + 1  # the smaller profiles' stratified subsamples: fixed, like the splits

__all__ = ["RECIPES", "TASKS", "Examples", "Task", "files_for", "get_task", "load_splits", "split_seed", "strata"]


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r} (valid: {', '.join(TASKS)})") from None


def split_seed(task_name: str, data_seed: int) -> int | None:
    """The seed a task's split depends on: the run's data seed for a per_seed recipe, else none."""
    return data_seed if get_task(task_name).recipe == "per_seed" else None


@functools.lru_cache(maxsize=32)
def load_splits(task_name: str, train_examples: int | None = None, eval_examples: int | None = None,
                full_train: bool = False, seed: int | None = None, dev_halves: bool = False) -> dict[str, Examples]:
    """Train/validation/test by the task's recipe, optionally subsampled (stratified, fixed seed) for small
    profiles. ``seed``: split_seed(task, data seed); ``full_train`` (Appendix D) and ``dev_halves`` (train on the
    train file, validate and test on dev's halves): GLUE's large tasks only."""
    task = get_task(task_name)
    files = {kind: task.read(task, kind) for kind in task.files}
    options = {k: True for k, on in (("full_train", full_train), ("dev_halves", dev_halves)) if on}
    recipe = task.split(task, files, seed, **options)
    splits = {name: pooled(files, kind).take(idx) for name, (kind, idx) in recipe.items()}
    sub_rng = np.random.default_rng(SUBSAMPLE_SEED)
    for name, cap in (("train", train_examples), ("validation", eval_examples), ("test", eval_examples)):
        if cap is not None and cap < len(splits[name]):
            data = splits[name]
            splits[name] = data.take(np.sort(stratified_sample(strata(task, data.labels), cap, sub_rng)))
    return splits


def pooled(files: dict[str, Examples], kind) -> Examples:
    """The examples of a file kind, or of a tuple of kinds pooled in that order (IMDb-proxy: train + dev)."""
    return Examples.concat([files[k] for k in kind]) if isinstance(kind, tuple) else files[kind]


def files_for(task_name: str) -> list[str]:
    return list(get_task(task_name).files.values())
