"""Where the Transformer blocks of each supported architecture live (Re-init, LLRD and the L2 distances).

BERT-like encoders (BERT, RoBERTa, ELECTRA, MiniLM) keep them in ``encoder.layer``, XLNet in ``layer``; for
BART the top blocks are the decoder's, whose last state feeds the classification head.
"""
from __future__ import annotations

from torch import nn


def blocks(model: nn.Module) -> list[nn.Module]:
    base = model.base_model
    for path in ("encoder.layer", "layer", "decoder.layers"):
        module = base
        for attr in path.split("."):
            module = getattr(module, attr, None)
            if module is None:
                break
        if isinstance(module, nn.ModuleList):
            if path == "decoder.layers":  # BART: encoder blocks first, then decoder blocks (top = decoder)
                return list(base.encoder.layers) + list(module)
            return list(module)
    raise ValueError(f"{type(model).__name__}: cannot find its Transformer blocks")


def embeddings(model: nn.Module) -> list[nn.Module]:
    base = model.base_model
    found = [getattr(base, name) for name in ("embeddings", "word_embedding", "shared") if hasattr(base, name)]
    if not found:
        raise ValueError(f"{type(model).__name__}: cannot find its embeddings")
    return found


def task_head(model: nn.Module) -> list[nn.Module]:
    """The freshly initialised task head: every child of the model outside the pre-trained base."""
    base = model.base_model
    return [m for m in model.children() if m is not base]


def pooler(model: nn.Module) -> nn.Module | None:
    return getattr(model.base_model, "pooler", None)
