"""Build the classifier: pretrained encoder, task head from the init seed, optional Re-init and Mixout."""
from __future__ import annotations

import copy
import functools
import os

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from trainers.assets import model_source
from trainers.layers import task_head
from trainers.mixout import apply_mixout
from trainers.reinit import init_module, init_std, reinit

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


@functools.lru_cache(maxsize=4)
def tokenizer_for(model_name: str):
    tokenizer = AutoTokenizer.from_pretrained(model_source(model_name))
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # GPT-2 has no pad token (Kobyzev et al. Table 3): pad with EOS
    return tokenizer


def with_pad_token(model: torch.nn.Module) -> torch.nn.Module:
    """A decoder classifier (GPT-2) reads the last token that is not padding, so it must know the pad id: the
    EOS id its tokenizer pads with (tokenizer_for). Encoders have one already."""
    if model.config.pad_token_id is None and model.config.eos_token_id is not None:
        model.config.pad_token_id = model.config.eos_token_id
    return model


def _load_pretrained(model_name: str, num_labels: int, num_layers: int | None) -> torch.nn.Module:
    kwargs = {"num_labels": num_labels,
              "problem_type": "regression" if num_labels == 1 else "single_label_classification"}
    if num_layers:
        kwargs["num_hidden_layers"] = num_layers  # keeps the first k pretrained blocks
    model, info = AutoModelForSequenceClassification.from_pretrained(model_source(model_name),
                                                                     output_loading_info=True, **kwargs)
    # Weights the checkpoint lacks besides the head (paraphrase-MiniLM-L3-v2 ships no pooler) were drawn from the
    # global RNG, whose state depends on the trials a Ray worker ran before: build_model draws them again.
    model.suite_missing = sorted(info["missing_keys"])
    return with_pad_token(model)


_cached_pretrained = functools.lru_cache(maxsize=4)(_load_pretrained)


def weight_cache_enabled() -> bool:
    """SUITE_WEIGHT_CACHE=1 keeps a loaded copy per worker. Off by default: docs/benchmarks.md measured a copy
    slower than from_pretrained from a local disk (safetensors maps the file); it can pay on network storage."""
    return os.environ.get("SUITE_WEIGHT_CACHE", "0") == "1"


def pretrained(model_name: str, num_labels: int, num_layers: int | None) -> torch.nn.Module:
    """A fresh pre-trained classifier: read from the checkpoint, or (weight cache on) copied from the one this
    worker loaded for an earlier trial (Ray reuses workers across trials)."""
    if not weight_cache_enabled():
        return _load_pretrained(model_name, num_labels, num_layers)
    return copy.deepcopy(_cached_pretrained(model_name, num_labels, num_layers))


def random_model(model_name: str, num_labels: int, num_layers: int | None, init_seed: int) -> torch.nn.Module:
    """The checkpoint's architecture with fresh weights (Kobyzev et al. Tables 7 and 9: "randomly initialised"),
    drawn by the library's own initialiser (normal, std = initializer_range) from the init seed."""
    kwargs = {"num_labels": num_labels,
              "problem_type": "regression" if num_labels == 1 else "single_label_classification"}
    if num_layers:
        kwargs["num_hidden_layers"] = num_layers
    config = AutoConfig.from_pretrained(model_source(model_name), **kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return with_pad_token(AutoModelForSequenceClassification.from_config(config))


def missing_modules(model: torch.nn.Module, head: list) -> list[torch.nn.Module]:
    """The modules outside the task head whose weights the checkpoint did not have (none for most checkpoints:
    then the init seed's stream, and every existing trial's numbers, are unchanged)."""
    names = {key.rsplit(".", 1)[0] for key in getattr(model, "suite_missing", [])}
    found = [m for name, m in model.named_modules() if name in names]
    return [m for m in found if not any(m is h for h in head)]


def build_model(model_name: str, num_labels: int, init_seed: int, num_layers: int | None = None,
                reinit_layers: int = 0, reinit_pooler: bool = False, mixout: float = 0.0,
                base_state: dict | None = None, random_init: bool = False) -> torch.nn.Module:
    """The init seed alone decides the task head and any re-initialised weights (Appendix B).

    ``base_state`` replaces the pre-trained encoder weights (transfer through an intermediate task);
    ``random_init``: no pre-trained weights at all."""
    if random_init:
        model = random_model(model_name, num_labels, num_layers, init_seed)
    else:
        model = pretrained(model_name, num_labels, num_layers)
    if base_state is not None:
        model.base_model.load_state_dict(base_state)
    generator = torch.Generator().manual_seed(init_seed)
    head = [m for h in task_head(model) for m in h.modules()]
    for module in head:
        init_module(module, init_std(model.config), generator)
    for module in missing_modules(model, head):  # then what the checkpoint lacks, from the same seed
        init_module(module, init_std(model.config), generator)
    reinit(model, reinit_layers, reinit_pooler, generator)
    apply_mixout(model, mixout)
    return model
