"""Training objectives as plug-ins (Kobyzev et al. 2023, Eq. 1-6: every arm is CE on a smoothed target q').

Each non-underscore module here defines `OBJECTIVE = Objective(...)`; the registry finds it, so adding an
objective touches only its own file (and its test). Every loss is the batch MEAN. An objective serves the
single-task trainer (`loss`, from the logits) and, where it declares a `multitask` form, the multitask trainer too
(one loss per task batch from that head's outputs): the trainers and the config check ask the registry which.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from trainers.plugins import plugin_modules


@dataclass(frozen=True)
class Setting:
    check: Callable[[Any], bool]
    expected: str  # words for error messages, e.g. "a number in [0, 1)"
    default: Any = None  # None = required when the objective is used


SINGLE_TASK, MULTITASK = "single-task", "multitask"  # the trainer kinds (trainers.loop's run objects)


@dataclass(frozen=True)
class MultitaskForm:
    """How an objective serves the multitask trainer (trainers.multitask.train), whose heads give SST logits
    (B, 5), a paraphrase logit (B,) and an STS score (B,) or logits (B, 6), and whose teachers are predictions in
    probability space (SST class probabilities, a paraphrase probability, an STS score)."""
    # loss(part, outputs, labels, args, teacher) -> (loss, {name: detached term}): one task batch's main loss;
    # the terms are logged as curves train_<name>, the task's label loss under the part's name (train_sst)
    loss: Callable
    settings: dict[str, Setting] | None = None  # the objective's settings, narrowed there; None = the same


@dataclass(frozen=True)
class Objective:
    name: str
    about: str  # one line citing the paper's equation
    settings: dict[str, Setting]
    needs_teacher: bool  # reads teacher logits (KD, Self-KD from a stored trial; SD from the run's own steps)
    loss: Callable  # loss(logits, labels, args, teacher_logits) -> scalar mean loss
    target: Callable | None  # target(labels, num_classes, args, teacher_probs) -> (n, K) soft target q'
    # loss_parts(logits, labels, args, teacher_logits) -> (loss, {name: detached scalar}): the loss and the terms it
    # sums, computed once, logged as curves (SD's CE and MSE); objectives without it log only the loss
    loss_parts: Callable | None = None
    multitask: MultitaskForm | None = None  # None: the single-task trainer only

    @property
    def kinds(self) -> tuple[str, ...]:
        """The trainer kinds it serves."""
        return (SINGLE_TASK, MULTITASK) if self.multitask else (SINGLE_TASK,)


def _discover() -> dict[str, Objective]:
    found: dict[str, Objective] = {}
    for module in plugin_modules(__name__, __path__):
        obj = module.OBJECTIVE
        assert obj.name not in found, f"objective {obj.name!r} defined twice"
        found[obj.name] = obj
    return dict(sorted(found.items()))


OBJECTIVES: dict[str, Objective] = _discover()


def get_objective(name: str) -> Objective:
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r} (valid: {', '.join(OBJECTIVES)})")
    return OBJECTIVES[name]


def setting_names() -> set[str]:
    return {key for obj in OBJECTIVES.values() for key in obj.settings}


def serving(kind: str) -> list[str]:
    """The objectives that serve a trainer kind, by name."""
    return [name for name, obj in OBJECTIVES.items() if kind in obj.kinds]


def settings_for(name: str, kind: str = SINGLE_TASK) -> dict[str, Setting]:
    """The settings an objective takes on a trainer kind; a one-line ValueError where it does not serve that kind."""
    obj = get_objective(name)
    if kind not in obj.kinds:
        raise ValueError(f"objective {name!r} does not serve the {kind} trainer (valid: {', '.join(serving(kind))})")
    if kind == MULTITASK and obj.multitask.settings is not None:
        return obj.multitask.settings
    return obj.settings


def resolve(name: str, args: dict, later: frozenset = frozenset(), kind: str = SINGLE_TASK) -> dict:
    """`args` validated for the trainer ``kind``, with defaults filled; a one-line ValueError names the bad setting
    and what is valid. ``later``: settings whose values another stage chooses (suite.yaml's {searched: ...}):
    named, not yet set."""
    settings = settings_for(name, kind)
    valid = ", ".join(settings) or "none"
    for key in [*args, *later]:
        if key not in settings:
            raise ValueError(f"objective {name!r} has no setting {key!r} (valid: {valid})")
    out = {}
    for key, setting in settings.items():
        value = args.get(key)
        if key in later:
            continue
        if value is None:
            value = setting.default
        if value is None:
            raise ValueError(f"objective {name!r} needs setting {key!r} ({setting.expected})")
        if not setting.check(value):
            raise ValueError(f"objective {name!r}: {key}={value!r} is invalid (expected {setting.expected})")
        out[key] = value
    return out


def compute_loss(name: str, logits: torch.Tensor, labels: torch.Tensor, args: dict,
                 teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
    obj = get_objective(name)
    args = resolve(name, args)
    if obj.needs_teacher and teacher_logits is None:
        raise ValueError(f"objective {name!r} needs teacher_logits (the frozen teacher's (n, K) logits), got None")
    return obj.loss(logits, labels, args, teacher_logits)
