"""One encoder, three heads (the CS224N minBERT multitask classifier): SST-5 over the pooled [CLS] output, and
paraphrase and STS over sentence pairs encoded separately (Siamese), as both reports do.

* SST: dropout -> linear(5), cross-entropy.
* Paraphrase, ``para_head``: ``dot`` (Venkateswaran's baseline: linear(32) per sentence, dot product, one logit)
  or ``concat`` (his B1: one logit from [u1, u2, u1*u2]) or ``cosine`` (the logit (cos(u1, u2) - t) * s with a
  learned threshold t and scale s: the cosine the sentence-transformers checkpoints were trained on; a cpu
  profile's head, since the others start from random weights that a few hundred pairs do not train); binary
  cross-entropy.
* STS, ``sts_head``: ``cosine`` (cos(u1, u2) x 5, MSE: his baseline), ``regression`` (a score from [u1, u2,
  u1*u2], MSE: Qin & Tran's "specialized" loss) or ``classes`` (6 classes of the rounded score, cross-entropy, the
  expected class as the score: their earlier CE runs).
All heads share ``head_dropout`` (0.3 in both reports). ``pooling``: ``cls`` (the pooled [CLS] output, minBERT's
``pooler_output``, as both reports) or ``mean`` (the mask-weighted mean of the last hidden states: how
sentence-transformers checkpoints were trained; the offline MiniLM has no trained pooler). Weights the checkpoint lacks (the heads, a missing pooler)
are drawn from the init seed.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel

from trainers.assets import model_source
from trainers.reinit import init_module, init_std

STS_CLASSES = 6  # scores 0..5


class CosineLogit(nn.Module):
    """A pair's logit from its cosine: (cos - threshold) * scale. The threshold is learned in cosine units, so a
    head learning rate moves it a visible step per update (a linear layer's bias would need the scale's
    multiple)."""

    def __init__(self, threshold: float = 0.5, scale: float = 20.0):
        super().__init__()
        self.threshold = nn.Parameter(torch.tensor(threshold))
        self.scale = nn.Parameter(torch.tensor(scale))

    def forward(self, u1: torch.Tensor, u2: torch.Tensor) -> torch.Tensor:
        return (F.cosine_similarity(u1, u2, dim=-1) - self.threshold) * self.scale

    @torch.no_grad()
    def fit(self, cosines: np.ndarray, labels: np.ndarray) -> float:
        """Start the threshold where the pairs' cosines best split their labels (the training accuracy's
        maximum, midway between neighbouring cosines; the first of ties): a one-feature linear probe."""
        order = np.argsort(cosines, kind="stable")
        c, y = cosines[order], labels[order] > 0.5
        # predicting positive from sorted index k on: the negatives below k and the positives from k are right
        right = np.concatenate([[0], np.cumsum(~y)]) + np.concatenate([np.cumsum(y[::-1])[::-1], [0]])
        k = int(np.argmax(right))
        edges = np.concatenate([[c[0] - 1e-3], c, [c[-1] + 1e-3]])
        self.threshold.fill_(float((edges[k] + edges[k + 1]) / 2))
        return right[k] / len(y)


class MultitaskModel(nn.Module):
    def __init__(self, encoder: nn.Module, para_head: str, sts_head: str, dropout: float, pooling: str = "cls"):
        super().__init__()
        self.bert, self.para_kind, self.sts_kind, self.pooling = encoder, para_head, sts_head, pooling
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.sst = nn.Linear(hidden, 5)
        self.para = {"dot": lambda: nn.Linear(hidden, 32), "concat": lambda: nn.Linear(3 * hidden, 1),
                     "cosine": CosineLogit}[para_head]()
        self.sts = None if sts_head == "cosine" else nn.Linear(3 * hidden, 1 if sts_head == "regression"
                                                                   else STS_CLASSES)

    @property
    def base_model(self) -> nn.Module:  # trainers.layers finds the blocks and embeddings here
        return self.bert

    @property
    def config(self):
        return self.bert.config

    def embed(self, input_ids, attention_mask, inputs_embeds=None) -> torch.Tensor:
        """One vector per sentence of a batch: the pooled [CLS] output, or the masked mean of the last layer."""
        if inputs_embeds is not None:
            out = self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        else:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask)
        if self.pooling == "cls":
            return out.pooler_output
        weights = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
        return (out.last_hidden_state * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    def head(self, task: str, u: torch.Tensor) -> torch.Tensor:
        """Task outputs from pooled embeddings: SST (B, 5) logits; para (B,) logit; STS (B,) score or (B, 6)
        logits. A pair task's ``u`` holds the first sentences then the second ones (2B rows)."""
        if task == "sst":
            return self.sst(self.dropout(u))
        u1, u2 = u.chunk(2)
        if task == "para":
            if self.para_kind == "dot":
                return (self.para(self.dropout(u1)) * self.para(self.dropout(u2))).sum(-1)
            if self.para_kind == "cosine":  # one dropout mask for both sentences: two would lower every training
                keep = self.dropout(torch.ones_like(u1))  # cosine (not the eval ones) and skew the threshold
                return self.para(u1 * keep, u2 * keep)
            return self.para(self.dropout(torch.cat([u1, u2, u1 * u2], -1))).squeeze(-1)
        if self.sts is None:
            return 5.0 * F.cosine_similarity(u1, u2, dim=-1)
        out = self.sts(self.dropout(torch.cat([u1, u2, u1 * u2], -1)))
        return out.squeeze(-1) if self.sts_kind == "regression" else out

    def forward(self, task: str, input_ids, attention_mask) -> torch.Tensor:
        return self.head(task, self.embed(input_ids, attention_mask))

    @torch.no_grad()
    def prior_biases(self, labels: dict[str, np.ndarray]) -> None:
        """Output biases at each given part's training-label statistics (``head_bias: prior``): SST and STS classes
        at the log class frequencies, the concat paraphrase logit at the log-odds of a paraphrase, the STS
        regression at the mean score. A zero bias leaves a regression head 2-3 points off the scores, and Adam
        moves a bias by about the learning rate per step: many steps before the head learns more than the offset."""
        for part, y in labels.items():
            if part == "sst" or (part == "sts" and self.sts_kind == "classes"):
                head = self.sst if part == "sst" else self.sts
                counts = np.bincount(np.rint(y).astype(int), minlength=head.out_features) + 1.0  # add-one: no -inf
                head.bias.copy_(torch.from_numpy(np.log(counts / counts.sum())))
            elif part == "para" and self.para_kind == "concat":
                rate = (y.sum() + 1.0) / (len(y) + 2.0)
                self.para.bias.fill_(float(np.log(rate / (1 - rate))))
            elif part == "sts" and self.sts_kind == "regression":
                self.sts.bias.fill_(float(y.mean()))


def sts_score(outputs: torch.Tensor) -> torch.Tensor:
    """The STS score of a head's outputs: the score itself, or the classes' expected value."""
    if outputs.ndim == 1:
        return outputs
    return (outputs.softmax(-1) * torch.arange(STS_CLASSES, dtype=outputs.dtype, device=outputs.device)).sum(-1)


def build_multitask_model(model_name: str, init_seed: int, num_layers: int | None, para_head: str, sts_head: str,
                          dropout: float, pooling: str = "cls") -> MultitaskModel:
    kwargs = {"num_hidden_layers": num_layers} if num_layers else {}
    encoder, info = AutoModel.from_pretrained(model_source(model_name), output_loading_info=True, **kwargs)
    model = MultitaskModel(encoder, para_head, sts_head, dropout, pooling)
    generator = torch.Generator().manual_seed(init_seed)
    std = init_std(encoder.config)
    missing = {key.rsplit(".", 1)[0] for key in info["missing_keys"]}
    for name, module in encoder.named_modules():  # e.g. a pooler the checkpoint does not ship
        if name in missing:
            init_module(module, std, generator)
    for head in (model.sst, model.para, model.sts):
        if head is not None:
            init_module(head, std, generator)
    return model
