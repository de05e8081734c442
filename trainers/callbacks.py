"""Step callbacks of the shared loop: what a method does around each optimizer step and which extra weights it
asks the loop to evaluate at the end, so methods that average a run's own weights are plug-ins, not branches.

Hooks, in the loop's order: ``start(model)`` once (the model in train mode); per step ``teacher(model, inputs)``
(the batch's teacher logits, before the student's forward) and ``after_step(model)`` (after the update);
``after_epoch(model, epoch)`` when an epoch's batches are done (or the step budget ends one early); at the end
``weights()`` ({name: flat parameter vector}), each evaluated on validation and test as metrics ``<name>_val`` /
``<name>_test`` (a multitask kind adds ``<name>_val_<part>``).
"""
from __future__ import annotations

import copy

import torch

from trainers.averaging import StepWindow, ema_update, flat, load_flat

SELF_TEACHERS = ("sda", "sdv")


class Callback:
    def start(self, model: torch.nn.Module) -> None:
        pass

    def teacher(self, model: torch.nn.Module, inputs: dict) -> torch.Tensor | None:
        return None

    def after_step(self, model: torch.nn.Module) -> None:
        pass

    def after_epoch(self, model: torch.nn.Module, epoch: int) -> None:
        pass

    def weights(self) -> dict[str, torch.Tensor]:
        return {}


class SelfEnsemble(Callback):
    """SE (Xu et al. Eq. 4): θ̄ = (1/T) Σ_{τ=1..T} θ_τ, the running mean of the weights after every update."""

    def start(self, model):
        self.window = StepWindow(None)

    def after_step(self, model):
        self.window.push(flat(model))

    def weights(self):
        return {"se": self.window.mean()} if self.window.count else {}


class SelfDistillTeacher(Callback):
    """The self-distillation teacher at step t (Xu et al. Sec. 3.2), in eval mode and without gradients.

    SDA(K), Eq. 5-6: one model with θ̄ = (1/K) Σ_{k=1..K} θ_{t-k} (K None: every previous step, the paper's
    K = T-1). SDV(K), Eq. 7: the mean logits of the K snapshots θ_{t-1}, ..., θ_{t-K} (K forward passes). A step
    is one optimizer update; before K steps exist the window averages those there are, and at t = 0 the teacher
    is θ_0 itself. SDA(1) and SDV(1) are the same teacher."""

    def __init__(self, kind: str, k: int | None):
        if kind not in SELF_TEACHERS:
            raise ValueError(f"unknown self-teacher {kind!r} (valid: {', '.join(SELF_TEACHERS)})")
        if kind == "sdv" and k is None:
            raise ValueError("an SDV teacher votes over K snapshots: give teacher_k (SDA alone takes all steps)")
        self.kind, self.k = kind, k

    def start(self, model):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.window = StepWindow(self.k)

    @torch.no_grad()
    def teacher(self, model, inputs):
        current = flat(model)
        if not len(self.window):
            vectors = [current]
        elif self.kind == "sda":
            vectors = [self.window.mean()]
        else:
            vectors = list(self.window.snapshots)
        logits = None
        for vector in vectors:
            out = load_flat(self.model, vector)(**inputs).logits.float()
            logits = out if logits is None else logits + out
        self.window.push(current)  # θ_t joins the window for the next step's teacher
        return logits / len(vectors) if len(vectors) > 1 else logits


class MeanTeacher(Callback):
    """The mean teacher (Tarvainen & Valpola 2017; Qin & Tran 2023): an exponential moving average of the student's
    weights after every update (trainers.averaging.ema_update). It stays in train mode, as CuriousAI's does: its
    targets see their own dropout. The objective reads ``self.model``; at the end it is scored as ``teacher``."""

    def __init__(self, decay: float):
        self.decay = decay

    def start(self, model):
        self.model, self.steps = copy.deepcopy(model).train(), 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    def after_step(self, model):
        self.steps += 1
        ema_update(self.model, model, self.decay, self.steps)

    def weights(self):
        return {"teacher": flat(self.model)}


class EpochAverage(Callback):
    """SWA (Izmailov et al. 2018, as Venkateswaran runs it): the mean of the weights at the end of each epoch from
    ``first_epoch`` (0-based) on, scored at the end as ``swa``."""

    def __init__(self, first_epoch: int):
        self.first_epoch, self.window = first_epoch, StepWindow(None)

    def after_epoch(self, model, epoch):
        if epoch >= self.first_epoch:
            self.window.push(flat(model))

    def weights(self):
        return {"swa": self.window.mean()} if self.window.count else {}


def step_callbacks(cfg) -> list[Callback]:
    """The callbacks a single-task trial's config asks for (trainers.config.TrainConfig; a multitask run adds its own:
    trainers.multitask.train)."""
    out: list[Callback] = []
    if cfg.self_teacher:
        out.append(SelfDistillTeacher(cfg.self_teacher, cfg.teacher_k))
    if cfg.ensemble_outputs:
        out.append(SelfEnsemble())
    return out
