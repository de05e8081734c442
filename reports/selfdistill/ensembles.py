"""VOTE(K) and AVG(K) of Xu et al. (Sec. 3.1), formed in the analysis stage from the BASE trials' saved outputs,
without training again: the BASE seeds of one task in disjoint groups of K (seeds 1-4, 5-8, ...).

VOTE, Eq. 2: the summed softmax probabilities of the group's models ("sum up the probability of predictions"),
argmax. AVG, Eq. 3: one model whose weights are the mean of the group's final weights (the same pre-trained
start; each seed's head began elsewhere), evaluated on the same test split. Each group is scored beside the mean
of its members, the paired comparison the claims test."""
from __future__ import annotations


import numpy as np
import torch

from reports.build import ReportContext
from trainers.loop import evaluate
from trainers.metrics import score
from trainers.model import build_model
from trainers.tasks import get_task, load_splits, split_seed
from trainers.tokens import encoded_splits

K = 4  # Table 3: VOTE(K = 4), AVG(K = 4)


def vote(logits: list[np.ndarray]) -> np.ndarray:
    """Eq. 2: the sum of the models' probability vectors."""
    return sum(torch.softmax(torch.as_tensor(x, dtype=torch.float64), dim=-1).numpy() for x in logits)


def average_state(states: list[dict]) -> dict:
    """Eq. 3: the mean of the models' weights (integer buffers such as position ids are the same in all)."""
    out = {}
    for key, first in states[0].items():
        out[key] = (torch.stack([s[key].double() for s in states]).mean(0).to(first.dtype)
                    if first.is_floating_point() else first.clone())
    return out


def groups(seeds: list[int], k: int = K) -> list[list[int]]:
    """Disjoint groups of k seeds in seed order; a remainder smaller than k is left out."""
    ordered = sorted(seeds)
    return [ordered[i:i + k] for i in range(0, len(ordered) - k + 1, k)]


def _test_labels(cfg) -> np.ndarray:
    splits = load_splits(cfg.task, cfg.train_examples, cfg.eval_examples, cfg.full_train,
                         split_seed(cfg.task, cfg.data_seed), cfg.dev_halves)
    return np.asarray(splits["test"].labels)


def _avg_score(cfg, state: dict) -> float:
    """The averaged model's test score, through the trainer's own evaluation."""
    task = get_task(cfg.task)
    model = build_model(cfg.model, task.num_labels, cfg.init_seed, cfg.num_layers, random_init=cfg.random_init)
    model.load_state_dict(state)
    splits, pad_id = encoded_splits(cfg.task, cfg.model, cfg.max_seq_len, cfg.train_examples, cfg.eval_examples,
                                    cfg.full_train, split_seed(cfg.task, cfg.data_seed), cfg.dev_halves)
    return evaluate(model, splits["test"], pad_id, task.metric, task.is_regression)


def group_scores(ctx: ReportContext, experiment: str, task: str, arm: str = "base") -> list[dict]:
    """Per group of K finished seeds: its seeds, VOTE's and AVG's test score and the mean of its members' (x100)."""
    key = ("ensembles", experiment, task, arm)
    if key in ctx.memo:  # tables and claims both read the groups: their weights are averaged once
        return ctx.memo[key]
    frame = ctx.trials(experiment)
    rows = frame[(frame["raw_task"] == task) & (frame["arm"] == arm) & frame["finished"]]
    by_seed = {int(r.data_seed): r for r in rows.itertuples()}
    run_ids = dict(zip(ctx.runs["trial_id"], ctx.runs["run_id"]))
    out = []
    for seeds in groups(list(by_seed)):
        members = [by_seed[s] for s in seeds]
        cfg = ctx.plan.specs[members[0].trial_id].config
        ids = [m.trial_id for m in members]
        saved = [ctx.read_outputs(run_ids[t]) for t in ids]
        labels = _test_labels(cfg)
        metric = get_task(cfg.task).metric
        # the weights are read only to score AVG: a report's data folder keeps the score, not them (reports.bundle)
        avg = ctx.derive(f"avg {'+'.join(ids)}", lambda: _avg_score(
            cfg, average_state([ctx.read_outputs(run_ids[t], True)["state"] for t in ids])))
        out.append({"seeds": seeds, "members": ids,
                    "member_mean": 100.0 * float(np.mean([m.test_last for m in members])),
                    "vote": 100.0 * score(metric, vote([s["test_logits"] for s in saved]), labels),
                    "avg": 100.0 * avg})
    ctx.memo[key] = out
    return out
