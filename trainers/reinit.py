"""Re-init (Zhang et al. 2021, Sec. 5): re-initialise the pooler and the top L Transformer blocks.

As in the official code: pooler dense weight N(0, 0.02) and bias 0; in the top L blocks every Linear and
Embedding weight N(0, 0.02), Linear bias 0, LayerNorm weight 1 and bias 0.
"""
from __future__ import annotations

import torch
from torch import nn

from trainers.layers import blocks as find_blocks
from trainers.layers import pooler as find_pooler


def init_module(module: nn.Module, std: float, generator: torch.Generator) -> None:
    with torch.no_grad():
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.zero_()


def init_std(config) -> float:
    """The architecture's weight-init std (BERT-like: initializer_range; BART: init_std)."""
    for name in ("initializer_range", "init_std"):
        if isinstance(getattr(config, name, None), float):
            return getattr(config, name)
    return 0.02


def reinit(model: nn.Module, layers: int, pooler: bool, generator: torch.Generator) -> None:
    """Re-initialise the pooler (if ``pooler`` and the model has one) and the top ``layers`` blocks in place."""
    std = init_std(model.config)
    blocks = find_blocks(model)
    if not 0 <= layers <= len(blocks):
        raise ValueError(f"cannot re-initialise {layers} blocks of a {len(blocks)}-block model")
    head = find_pooler(model)
    if (pooler or layers) and head is not None:  # models without a pooler (RoBERTa, XLNet) skip this part
        init_module(head.dense, std, generator)
    for block in blocks[len(blocks) - layers:]:
        for module in block.modules():
            init_module(module, std, generator)
