"""Re-init (Sec. 5): which tensors change, their statistics, which stay; the init seed decides the head."""
import pytest
import torch

from trainers.model import build_model

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def pair():
    standard = build_model(MODEL, 2, init_seed=3, num_layers=3).state_dict()
    reinit = build_model(MODEL, 2, init_seed=3, num_layers=3, reinit_layers=1, reinit_pooler=True).state_dict()
    return standard, reinit


def test_only_pooler_and_top_block_change(pair):
    standard, reinit = pair
    changed = {k for k in standard if not torch.equal(standard[k], reinit[k])}
    assert any(k.startswith("bert.pooler.") for k in changed)
    assert all(k.startswith(("bert.pooler.", "bert.encoder.layer.2.")) for k in changed)
    assert not any(k.startswith(("bert.embeddings.", "bert.encoder.layer.0.", "bert.encoder.layer.1."))
                   for k in changed)
    # The head comes from the init seed alone: the same with and without Re-init.
    assert torch.equal(standard["classifier.weight"], reinit["classifier.weight"])


def test_reinitialised_values_follow_bert_init(pair):
    _, reinit = pair
    for name, tensor in reinit.items():
        if not name.startswith(("bert.pooler.", "bert.encoder.layer.2.")):
            continue
        if "LayerNorm.weight" in name:
            assert torch.all(tensor == 1.0), name
        elif name.endswith(".bias"):
            assert torch.all(tensor == 0.0), name
        else:
            assert tensor.mean().abs() < 2e-3, name
            assert tensor.std().item() == pytest.approx(0.02, rel=0.05), name


def test_init_seed_controls_the_head_and_is_deterministic():
    a = build_model(MODEL, 2, init_seed=1, num_layers=1)
    b = build_model(MODEL, 2, init_seed=1, num_layers=1)
    c = build_model(MODEL, 2, init_seed=2, num_layers=1)
    assert torch.equal(a.classifier.weight, b.classifier.weight)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    assert torch.all(a.classifier.bias == 0)


def test_too_deep_reinit_is_an_error():
    with pytest.raises(ValueError, match="cannot re-initialise 4 blocks of a 3-block model"):
        build_model(MODEL, 2, init_seed=1, num_layers=3, reinit_layers=4)
