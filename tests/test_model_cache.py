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


def test_weights_the_checkpoint_lacks_come_from_the_init_seed_not_the_global_rng():
    """paraphrase-MiniLM-L3-v2 ships no pooler: transformers draws it from the global RNG, which a reused Ray
    worker's earlier trials move on. build_model draws it from the init seed, so a trial's numbers do not depend on
    what ran before it; all-MiniLM-L6-v2 (pooler shipped) keeps its init stream."""
    torch.manual_seed(0)
    a = build_model("paraphrase-MiniLM-L3-v2", 2, init_seed=3)
    torch.manual_seed(12345)
    b = build_model("paraphrase-MiniLM-L3-v2", 2, init_seed=3)
    assert a.suite_missing == ["bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias",
                               "classifier.weight"]
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    c = build_model("paraphrase-MiniLM-L3-v2", 2, init_seed=4)
    assert not torch.equal(a.bert.pooler.dense.weight, c.bert.pooler.dense.weight)
    assert build_model("all-MiniLM-L6-v2", 2, init_seed=3).suite_missing == ["classifier.bias", "classifier.weight"]
