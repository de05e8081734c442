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


def test_a_gpt2_classifier_pads_with_eos_and_reads_each_rows_last_real_token():
    """DistilGPT-2 / GPT-2 (Kobyzev et al. Table 3) have no pad token: without one a batch of two cannot be
    classified; with EOS as pad, a right-padded row scores as it does alone."""
    from transformers import GPT2Config

    from trainers.model import with_pad_token
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(
        GPT2Config(vocab_size=100, n_embd=16, n_layer=2, n_head=2, n_positions=40, eos_token_id=99,
                   bos_token_id=99, pad_token_id=None, num_labels=3)).eval()
    batch = torch.tensor([[5, 6, 7, 8], [5, 6, 99, 99]])
    mask = (torch.arange(4) < torch.tensor([[4], [2]])).long()
    with pytest.raises(ValueError, match="padding token"):
        model(input_ids=batch, attention_mask=mask)
    with_pad_token(model)
    assert model.config.pad_token_id == 99
    with torch.no_grad():
        both = model(input_ids=batch, attention_mask=mask).logits
        alone = model(input_ids=batch[1:, :2]).logits
    torch.testing.assert_close(both[1:], alone)
