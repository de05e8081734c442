"""The extra loss terms of a multitask step, each switched on by its arm setting (trainers.multitask.settings) and
added at its weight to a task batch's main loss (the objective's, trainers.objectives): Venkateswaran 2024's SimCSE,
multiple-negatives ranking and SMART, and Qin & Tran's mean-teacher consistency. Their formulas are
trainers.multitask.losses'; an entry here says which batches a term reads, what it reads of them and of the run, and
its weight. A new term is one entry in TERMS and its settings. The terms run in TERMS' order: SimCSE's second
dropout pass, SMART's noise and the teacher's dropout draw from the random stream in that order."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from trainers.multitask.losses import consistency, mnr_loss, simcse_loss, smart_loss
from trainers.multitask.settings import PARTS


@dataclass(frozen=True)
class Forward:
    """One task batch's training forward pass: what a term reads."""
    part: str
    ids: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    embeddings: torch.Tensor  # the pooled sentence vectors (a pair task's: the first sentences, then the second)
    outputs: torch.Tensor  # the head's


@dataclass(frozen=True)
class Term:
    name: str  # its curve: train_<name>
    parts: tuple[str, ...]  # the task batches it adds to
    on: Callable[[dict], bool]  # on(the arm's resolved settings)
    loss: Callable  # loss(run, forward) -> scalar; run: the MultitaskRun (its model, args, mean teacher)
    weight: Callable  # weight(run) -> float, at the run's current step


def kind(part: str, args: dict) -> str:
    """How a part's outputs are compared (losses.consistency): class logits, one binary logit, or a score."""
    if part == "sst" or (part == "sts" and args["sts_head"] == "classes"):
        return "classes"
    return "binary" if part == "para" else "regression"


def mnr_weights(y: torch.Tensor) -> torch.Tensor:
    """Venkateswaran Sec. 3: an STS pair's weight in the MNR loss, e^l / sum_{j=0..5} e^j (similar pairs count)."""
    return y.exp() / sum(math.exp(j) for j in range(6))


def _simcse(run, f: Forward) -> torch.Tensor:  # a second dropout pass over the same sentences
    return simcse_loss(f.embeddings, run.model.embed(f.ids, f.mask), run.args["simcse_temperature"])


def _mnr(run, f: Forward) -> torch.Tensor:  # an STS pair's two sentences, the other pairs' as negatives
    first, second = f.embeddings.chunk(2)
    return mnr_loss(first, second, 20.0, mnr_weights(f.labels))


def _smart(run, f: Forward) -> torch.Tensor:  # one adversarial step on the input word embeddings
    model = run.model
    embeds = model.bert.embeddings.word_embeddings(f.ids)
    return smart_loss(lambda e: model.head(f.part, model.embed(None, f.mask, inputs_embeds=e)).float(),
                      embeds, f.outputs.float(), kind(f.part, run.args))


def _consistency(run, f: Forward) -> torch.Tensor:  # to the EMA teacher's outputs (train mode: dropout)
    with torch.no_grad():
        target = run.teacher.model(f.part, f.ids, f.mask).float()
    how = run.args["consistency"] if f.part != "sts" or run.args["sts_head"] == "classes" else "mse"
    return consistency(f.outputs.float(), target, how, kind(f.part, run.args))


def _weighted(name: str, parts: tuple[str, ...], loss: Callable) -> Term:
    """A term on while its setting ``<name>_weight`` is not 0, at that weight."""
    setting = f"{name}_weight"
    return Term(name, parts, lambda args: bool(args[setting]), loss, lambda run: run.args[setting])


TERMS: tuple[Term, ...] = (
    _weighted("simcse", ("sts",), _simcse),
    _weighted("mnr", ("sts",), _mnr),
    _weighted("smart", PARTS, _smart),
    # on with the mean teacher (a kind, not none), at its ramped-up weight
    Term("consistency", PARTS, lambda args: args["consistency"] != "none", _consistency,
         lambda run: run.consistency_weight()),
)


def active_terms(args: dict) -> tuple[Term, ...]:
    """The terms an arm's resolved settings switch on."""
    return tuple(term for term in TERMS if term.on(args))
