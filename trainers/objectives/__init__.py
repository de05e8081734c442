"""Training objectives as plug-ins (Kobyzev et al. 2023, Eq. 1-6: every arm is CE on a smoothed target q').

Each non-underscore module here defines `OBJECTIVE = Objective(...)`; the registry finds it, so adding an
objective touches only its own file (and its test). Every loss is the batch MEAN computed from the logits.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass(frozen=True)
class Setting:
    check: Callable[[Any], bool]
    expected: str  # words for error messages, e.g. "a number in [0, 1)"
    default: Any = None  # None = required when the objective is used


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


def _discover() -> dict[str, Objective]:
    found: dict[str, Objective] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            obj = importlib.import_module(f"{__name__}.{info.name}").OBJECTIVE
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


def resolve(name: str, args: dict, later: frozenset = frozenset()) -> dict:
    """`args` validated, with defaults filled; a one-line ValueError names the bad setting and what is valid.
    ``later``: settings whose values another stage chooses (suite.yaml's {searched: ...}): named, not yet set."""
    obj = get_objective(name)
    valid = ", ".join(obj.settings) or "none"
    for key in [*args, *later]:
        if key not in obj.settings:
            raise ValueError(f"objective {name!r} has no setting {key!r} (valid: {valid})")
    out = {}
    for key, setting in obj.settings.items():
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
