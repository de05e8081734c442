"""The order of training examples in each epoch, as batches of example indices; the data seed decides it.

``random``: a fresh permutation per epoch cut into batches (the paper's setting).
``length_grouped``: the same permutation cut into megabatches of up to 50 batches (transformers'
LengthGroupedSampler rule: at most a quarter of the epoch each), each sorted by length and cut into batches, then
the batches shuffled. Batches hold examples of similar length, so dynamic padding pads little, while each epoch
still sees every example once in a seeded random order of batches (no long-to-short curriculum).
"""
from __future__ import annotations

import numpy as np
import torch

BATCHING = ("random", "length_grouped")
MEGABATCH_LIMIT = 50


def epoch_batches(lengths: np.ndarray, batch_size: int, generator: torch.Generator, batching: str) -> list[list[int]]:
    if batching not in BATCHING:
        raise ValueError(f"unknown batching {batching!r} (valid: {', '.join(BATCHING)})")
    n = len(lengths)
    perm = torch.randperm(n, generator=generator).tolist()
    if batching == "random":
        return [perm[i:i + batch_size] for i in range(0, n, batch_size)]
    mega = batch_size * max(1, min(n // (batch_size * 4), MEGABATCH_LIMIT))
    batches = []
    for start in range(0, n, mega):
        chunk = sorted(perm[start:start + mega], key=lambda i: -lengths[i])  # stable: ties keep the seeded order
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def padded_tokens(lengths: np.ndarray, batches: list[list[int]]) -> int:
    """Tokens a dynamically padded model computes for these batches (each batch padded to its longest row)."""
    return int(sum(len(b) * lengths[b].max() for b in batches))
