"""A worker's kept weights (SUITE_WEIGHT_CACHE=1) give the same model as reading the checkpoint, never a shared one."""
import torch

from trainers.model import build_model


def test_kept_weights_build_the_same_model_and_copies_are_independent(monkeypatch):
    monkeypatch.setenv("SUITE_WEIGHT_CACHE", "0")
    read = build_model("all-MiniLM-L6-v2", 2, 7, 2, reinit_layers=1)
    monkeypatch.setenv("SUITE_WEIGHT_CACHE", "1")
    kept = build_model("all-MiniLM-L6-v2", 2, 7, 2, reinit_layers=1)
    assert read.state_dict().keys() == kept.state_dict().keys()
    assert all(torch.equal(read.state_dict()[k], kept.state_dict()[k]) for k in read.state_dict())
    with torch.no_grad():
        kept.base_model.embeddings.word_embeddings.weight.zero_()  # a trial changes its copy ...
    again = build_model("all-MiniLM-L6-v2", 2, 7, 2, reinit_layers=1)
    assert torch.equal(again.base_model.embeddings.word_embeddings.weight,  # ... the next trial does not see it
                       read.base_model.embeddings.word_embeddings.weight)
