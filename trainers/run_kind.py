"""What a model kind gives the one training loop (trainers.loop.train): the contract that ``SingleTaskRun``
(trainers.loop: one task, a sequence classifier) and ``MultitaskRun`` (trainers.multitask.train: one encoder, three
heads) implement. The loop owns the optimizer, schedule, clipping, loss log, divergence, best-validation state and
final scoring; a run kind owns its data, model, batches, loss and scores. Drawn the way Ray Tune's ``Trainable``
(setup / step / save) and Hugging Face's ``TrainerCallback`` split a loop from what plugs into it: a new kind is one
class with these members, chosen by ``trainers.loop.model_kind``."""
from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch


@runtime_checkable
class RunKind(Protocol):
    outputs_at: Literal["last", "best"]  # whose logits ensembles combine: the final weights' or the best epoch's
    block_distance: bool  # log the per-block L2 distance from the pre-trained weights (Zhang et al. Fig. 6)
    lr_schedule: str  # after the warm-up: "linear" decay to 0, or "constant"
    model: torch.nn.Module
    callbacks: list  # step callbacks (trainers.callbacks): SE, the SDA/SDV self-teacher, the mean teacher, SWA
    train_examples: int

    def __init__(self, cfg, dev: torch.device, teacher_logits=None, teacher_digest: str | None = None): ...

    def total_steps(self) -> int: ...

    def checkpoints(self, steps: int) -> set[int]:
        """The steps after which to validate."""

    def start_epoch(self, epoch: int) -> None: ...

    def epoch(self, epoch: int):
        """The epoch's steps, each a batch or a group of batches (gradient accumulation over tasks)."""

    def step(self, forward, batch, scaler, micro_batch: int | None) -> tuple[torch.Tensor, dict]:
        """One step's loss, its gradients computed, and the loss's named parts (logged as curves)."""

    def validate(self, forward, step: int, curves: dict) -> float:
        """The validation score the loop selects on; a kind may add its own curves (per-task scores)."""

    def predict(self, model, split: str) -> Any: ...

    def score(self, split: str, preds) -> tuple[float, dict]:
        """The split's score and any per-task scores."""

    def outputs(self, preds: dict, model) -> dict:
        """What the analysis stage's ensembles read (logits or predictions, and the weights where kept)."""

    def train_outputs(self, model) -> tuple[np.ndarray, str]:
        """The run's logits on its training split and that split's labels digest: what its students read."""

    def extra_metrics(self, best_step: int) -> dict: ...
