"""Build the classifier: pretrained encoder, classifier head from the init seed, optional Re-init."""
from __future__ import annotations

import functools

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from trainers.assets import model_source
from trainers.reinit import init_module, reinit

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


@functools.lru_cache(maxsize=4)
def tokenizer_for(model_name: str):
    return AutoTokenizer.from_pretrained(model_source(model_name))


def build_model(model_name: str, num_labels: int, init_seed: int, num_layers: int | None = None,
                reinit_layers: int = 0, reinit_pooler: bool = False) -> torch.nn.Module:
    """The init seed alone decides the classifier head and any re-initialised weights (Appendix B)."""
    kwargs = {"num_labels": num_labels,
              "problem_type": "regression" if num_labels == 1 else "single_label_classification"}
    if num_layers:
        kwargs["num_hidden_layers"] = num_layers  # keeps the first k pretrained blocks
    model = AutoModelForSequenceClassification.from_pretrained(model_source(model_name), **kwargs)
    generator = torch.Generator().manual_seed(init_seed)
    init_module(model.classifier, model.config.initializer_range, generator)
    reinit(model, reinit_layers, reinit_pooler, generator)
    return model
