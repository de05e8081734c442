"""Re-init, LLRD and the L2 distances on the other architectures of Table 7, built offline from tiny configs."""
import pytest
import torch
from transformers import (AutoModelForSequenceClassification, BartConfig, ElectraConfig, RobertaConfig,
                          XLNetConfig)

from trainers.layers import blocks, embeddings
from trainers.optim import layer_rates
from trainers.param_distance import BlockDistance
from trainers.reinit import reinit

TINY = {
    "roberta": RobertaConfig(vocab_size=100, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                             intermediate_size=32, max_position_embeddings=40),
    "electra": ElectraConfig(vocab_size=100, embedding_size=16, hidden_size=16, num_hidden_layers=3,
                             num_attention_heads=2, intermediate_size=32, max_position_embeddings=40),
    "xlnet": XLNetConfig(vocab_size=100, d_model=16, n_layer=3, n_head=2, d_inner=32),
    "bart": BartConfig(vocab_size=100, d_model=16, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                       max_position_embeddings=40),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_reinit_touches_only_the_top_block(name):
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(TINY[name])
    found = blocks(model)
    assert len(found) == (4 if name == "bart" else 3)  # BART: encoder then decoder blocks, top = last decoder
    before = {k: v.clone() for k, v in model.state_dict().items()}
    distance = BlockDistance(model)
    reinit(model, 1, True, torch.Generator().manual_seed(1))
    top = {id(p) for p in found[-1].parameters()}
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    in_top = {n for n, p in model.named_parameters() if id(p) in top}
    assert changed and changed - {n for n in changed if "pooler" in n} <= in_top
    moved = distance.measure()
    assert moved[-1] > 0 and all(d == 0 for d in moved[:-1])
    rates = layer_rates(model, 0.5)
    assert all(rates[id(p)] == 0.5 for p in found[-1].parameters())
    assert all(rates[id(p)] <= 0.5 ** (len(found) + 1) for m in embeddings(model) for p in m.parameters())
