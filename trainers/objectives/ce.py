"""Plain fine-tuning: CE on the one-hot label (Finetune/Base arm; Kobyzev et al. Eq. 1 with alpha = 0).

The ops are exactly Hugging Face `BertForSequenceClassification`'s (transformers 5, modeling_bert.py):
`CrossEntropyLoss()(logits.view(-1, num_labels), labels.view(-1))` for single-label classification and
`MSELoss()(logits.squeeze(), labels.squeeze())` for regression (num_labels == 1); the modules call
`F.cross_entropy` / `F.mse_loss` with their default arguments, so the results are bit-identical. On the multitask
trainer each head takes the CS224N reports' label loss (`label_loss`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import MultitaskForm, Objective
from ._common import one_hot


def loss(logits: torch.Tensor, labels: torch.Tensor, args: dict, teacher_logits=None) -> torch.Tensor:
    if logits.shape[-1] == 1:  # regression (e.g. STS-B)
        return F.mse_loss(logits.squeeze(), labels.squeeze())
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))


def target(labels: torch.Tensor, num_classes: int, args: dict, teacher_probs=None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return one_hot(labels, num_classes, dtype)  # q' = q


def label_loss(part: str, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """A multitask head's loss on its labels (fp32): CE over SST's 5 classes, BCE on the paraphrase logit, MSE on
    the STS score, or CE over STS's 6 classes of the rounded score (an STS class head)."""
    out = outputs.float()
    if part == "sst":
        return F.cross_entropy(out, labels.long())
    if part == "para":
        return F.binary_cross_entropy_with_logits(out, labels)
    if out.ndim == 2:  # STS as 6 classes of the rounded score
        return F.cross_entropy(out, labels.round().long())
    return F.mse_loss(out, labels)


def multitask_loss(part: str, outputs: torch.Tensor, labels: torch.Tensor, args: dict,
                   teacher=None) -> tuple[torch.Tensor, dict]:
    task = label_loss(part, outputs, labels)
    return task, {part: task.detach()}


OBJECTIVE = Objective("ce", "cross-entropy on one-hot labels, MSE for regression (Kobyzev et al. Eq. 1, alpha=0)",
                      {}, False, loss, target, multitask=MultitaskForm(multitask_loss))
