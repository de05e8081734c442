"""Venkateswaran's three ensembles (Sec. 4), formed in the analysis stage from B3 trials' saved predictions
(``ensemble_outputs``: each run's validation and test predictions at its kept epoch), without training again; the
B3 seeds in disjoint groups of 4 (seeds 1-4, 5-8, ...).

* mean: the members' mean prediction (SST class probabilities, paraphrase probability, STS score).
* selective: per task, the subset of members whose mean scores best on the fitting half of validation.
* weighted: per task, one weight per member on its logits (log-probabilities for SST, logit(p) for paraphrase),
  fitted by log-loss on the fitting half of validation; STS takes the mean (the report fits no STS weights).
The fitting half is a fixed half of our validation split (the author's code: ``random.seed(11)``, dev 50/50);
every ensemble is scored on test beside its best member (chosen on validation) and the mean of its members."""
from __future__ import annotations

import itertools

import numpy as np
from scipy import optimize

from reports.build import ReportContext
from reports.multitask import PARTS, TASK, average
from trainers.multitask.data import PART_TASKS
from trainers.multitask.train import part_metric
from trainers.tasks import load_splits

K = 4
FIT_SEED = 11  # the author's dev_split_for_ensembling.py


def groups(seeds, k: int = K) -> list[list[int]]:
    """Disjoint groups of k seeds in seed order; a remainder smaller than k is left out."""
    ordered = sorted(seeds)
    return [ordered[i:i + k] for i in range(0, len(ordered) - k + 1, k)]


def fitting_half(n: int) -> np.ndarray:
    """The validation rows the selective and weighted ensembles are fitted on (a fixed half)."""
    return np.sort(np.random.default_rng(FIT_SEED).permutation(n)[: n // 2])


def mean_prediction(preds: list[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack(preds), axis=0)


def selective(part: str, val: list[np.ndarray], val_labels, test: list[np.ndarray]) -> tuple[tuple, np.ndarray]:
    """The non-empty subset of members (by index) whose mean scores best on ``val`` (ties: the larger, then the
    first), and its mean prediction on ``test``."""
    subsets = [c for r in range(len(val), 0, -1) for c in itertools.combinations(range(len(val)), r)]
    best = max(subsets, key=lambda c: part_metric(part, mean_prediction([val[i] for i in c]), val_labels))
    return best, mean_prediction([test[i] for i in best])


def _logits(part: str, preds: np.ndarray) -> np.ndarray:
    p = np.clip(preds.astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) if part == "sst" else np.log(p / (1 - p))


def _combine(part: str, logits: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    z = sum(wi * x for wi, x in zip(w, logits))
    if part == "sst":
        z = z - z.max(axis=-1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    return 1 / (1 + np.exp(-z))


def fitted_weights(part: str, val: list[np.ndarray], val_labels) -> np.ndarray:
    """Member weights minimising the log-loss of the weighted logits on ``val`` (L-BFGS from equal weights)."""
    logits, y = [_logits(part, v) for v in val], np.asarray(val_labels)

    def loss(w):
        p = np.clip(_combine(part, logits, w), 1e-9, 1)
        if part == "sst":
            return -np.mean(np.log(p[np.arange(len(y)), y.astype(int)]))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(np.clip(1 - p, 1e-9, 1)))
    return optimize.minimize(loss, np.full(len(val), 1.0 / len(val)), method="L-BFGS-B").x


def weighted(part: str, val: list[np.ndarray], val_labels, test: list[np.ndarray]) -> np.ndarray:
    if part == "sts":
        return mean_prediction(test)
    w = fitted_weights(part, val, val_labels)
    return _combine(part, [_logits(part, t) for t in test], w)


def ensemble_scores(val: dict, val_labels: dict, test: dict, test_labels: dict, normalised: bool) -> dict:
    """One group's test scores x 100 per task and averaged: its members (mean, and the best on validation),
    and the mean, selective and weighted ensembles. ``val``/``test``: part -> the members' predictions."""
    half = {p: fitting_half(len(val_labels[p])) for p in PARTS}
    fit = {p: ([v[half[p]] for v in val[p]], np.asarray(val_labels[p])[half[p]]) for p in PARTS}
    members = [{p: part_metric(p, test[p][i], test_labels[p]) for p in PARTS} for i in range(len(test["sst"]))]
    member_val = [average({p: part_metric(p, val[p][i], val_labels[p]) for p in PARTS}, normalised)
                  for i in range(len(val["sst"]))]
    best = members[int(np.argmax(member_val))]
    out = {"member_mean": {p: float(np.mean([m[p] for m in members])) for p in PARTS}, "best_member": best,
           "mean": {p: part_metric(p, mean_prediction(test[p]), test_labels[p]) for p in PARTS},
           "selective": {p: part_metric(p, selective(p, *fit[p], test[p])[1], test_labels[p]) for p in PARTS},
           "weighted": {p: part_metric(p, weighted(p, *fit[p], test[p]), test_labels[p]) for p in PARTS}}
    return {name: {**{p: 100 * v[p] for p in PARTS}, "avg": 100 * average(v, normalised)} for name, v in out.items()}


def group_scores(ctx: ReportContext, experiment: str = "ensembles", arm: str = "b3") -> list[dict]:
    """Per group of K finished seeds: ensemble_scores from the members' saved predictions (read once per build)."""
    key = ("minbert-ensembles", experiment, arm)
    if key in ctx.memo:
        return ctx.memo[key]
    frame = ctx.trials(experiment) if experiment in ctx.plan.experiments else None
    out = []
    if frame is not None and ctx.read_outputs is not None:
        rows = frame[(frame["raw_task"] == TASK) & (frame["arm"] == arm) & frame["finished"]]
        by_seed = {int(r.data_seed): r.trial_id for r in rows.itertuples()}
        run_ids = dict(zip(ctx.runs["trial_id"], ctx.runs["run_id"]))
        for seeds in groups(by_seed):
            cfg = ctx.plan.specs[by_seed[seeds[0]]].config
            caps = dict(cfg.part_examples)
            splits = {p: load_splits(PART_TASKS[p], caps.get(p, cfg.train_examples), cfg.eval_examples)
                      for p in PARTS}
            saved = [ctx.read_outputs(run_ids[by_seed[s]], False) for s in seeds]
            val = {p: [s[f"val_{p}"] for s in saved] for p in PARTS}
            test = {p: [s[f"test_{p}"] for s in saved] for p in PARTS}
            labels = {split: {p: np.asarray(splits[p][split].labels) for p in PARTS} for split in ("validation",
                                                                                                   "test")}
            out.append({"seeds": seeds, **ensemble_scores(val, labels["validation"], test, labels["test"], True)})
    ctx.memo[key] = out
    return out
