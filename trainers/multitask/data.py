"""The multitask trainer's data: each task's splits tokenised one sentence at a time (pairs are encoded
separately, Siamese), and padded batches that stack a pair's first sentences over its second ones."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from trainers.model import tokenizer_for
from trainers.tasks import Examples, load_splits
from trainers.tokens import TokenizedSplit, tokenize

# the multitask parts and the registry's tasks they read (trainers.tasks.cs224n)
PART_TASKS = {"sst": "SST-cs224n", "para": "Quora-cs224n", "sts": "STS-cs224n"}


@dataclass(frozen=True)
class PartSplit:
    first: TokenizedSplit
    second: TokenizedSplit | None  # the pair's second sentences (para, STS)
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@functools.lru_cache(maxsize=8)
def part_splits(part: str, model: str, max_seq_len: int, train_examples: int | None,
                eval_examples: int | None) -> dict[str, PartSplit]:
    """Train / validation / test of one part, subsampled as the task registry does (stratified, fixed seed)."""
    tokenizer = tokenizer_for(model)
    out = {}
    for name, data in load_splits(PART_TASKS[part], train_examples, eval_examples).items():
        first = tokenize(tokenizer, Examples(data.text_a, None, data.labels), max_seq_len)
        second = None if data.text_b is None else tokenize(tokenizer, Examples(data.text_b, None, data.labels),
                                                           max_seq_len)
        out[name] = PartSplit(first, second, np.asarray(data.labels, dtype=np.float32))
    return out


def pad_id(model: str) -> int:
    return tokenizer_for(model).pad_token_id


def batch_inputs(split: PartSplit, rows, pad: int, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) of the rows' sentences, padded to the longest; a pair task's second
    sentences follow its first ones (2 x len(rows) rows)."""
    sides = [split.first] if split.second is None else [split.first, split.second]
    seqs = [side.ids[side.row(int(i))] for side in sides for i in rows]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for k, s in enumerate(seqs):
        ids[k, :len(s)] = torch.from_numpy(s.astype(np.int64))
        mask[k, :len(s)] = 1
    return ids.to(dev), mask.to(dev)
