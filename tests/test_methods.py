"""The Sec. 7 methods and Figure 7's distances at the trainer's seams: exact values on fixed seeds and tensors."""
import numpy as np
import pytest
import torch

from trainers.tasks import get_task
from trainers.tasks.glue import split_indices
from trainers.config import TrainConfig
from trainers.loop import train
from trainers.mixout import Mixout, apply_mixout
from trainers.model import build_model
from trainers.optim import PretrainedWeightDecay, build_optimizer
from trainers.param_distance import BlockDistance

MODEL = "all-MiniLM-L6-v2"


def test_mixout_mixes_toward_the_target_with_the_right_scale():
    torch.manual_seed(0)
    target = torch.randn(200, 300)
    mix = Mixout(target, p=0.3)
    mixed = mix(target + 1.0)  # W - U = 1: kept entries become U + 1/(1-p), mixed-in ones U exactly
    shift = mixed - target
    kept = torch.isclose(shift, torch.tensor(1 / 0.7))
    assert torch.all(kept | torch.isclose(shift, torch.tensor(0.0), atol=1e-6))
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.01)
    assert shift.mean().item() == pytest.approx(1.0, abs=0.02)  # unbiased: E[W'] = W
    mix.eval()
    assert torch.equal(mix(target + 1.0), target + 1.0)


def test_mixout_wraps_every_linear_and_turns_dropout_off():
    model = build_model(MODEL, 2, init_seed=1, num_layers=1, mixout=0.5)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(hasattr(m, "parametrizations") for m in linears)
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    assert apply_mixout(build_model(MODEL, 2, init_seed=1, num_layers=1), 0.0) == 0


def test_layerwise_lr_decay_rates():
    model = build_model(MODEL, 2, init_seed=1, num_layers=3)
    opt = build_optimizer(model, "adamw", 1e-3, llrd=0.5)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    bert = model.bert
    assert lr_of[id(model.classifier.weight)] == lr_of[id(bert.pooler.dense.weight)] == 1e-3
    assert lr_of[id(bert.encoder.layer[2].output.dense.weight)] == pytest.approx(1e-3 * 0.5)
    assert lr_of[id(bert.encoder.layer[0].output.dense.weight)] == pytest.approx(1e-3 * 0.5 ** 3)
    assert lr_of[id(bert.embeddings.word_embeddings.weight)] == pytest.approx(1e-3 * 0.5 ** 4)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] for p in g["params"]}
    assert not decayed  # weight decay 0 by default; LLRD alone adds no decay


def test_pretrained_weight_decay_pulls_toward_the_start_and_spares_the_head():
    model = build_model(MODEL, 2, init_seed=1, num_layers=1)
    opt = build_optimizer(model, "adamw", 0.1)
    prior = PretrainedWeightDecay(opt, model, strength=0.5)
    weight = model.bert.encoder.layer[0].output.dense.weight
    bias = model.bert.encoder.layer[0].output.dense.bias
    start, head = weight.detach().clone(), model.classifier.weight.detach().clone()
    with torch.no_grad():
        weight.add_(1.0)
        bias.add_(1.0)
        model.classifier.weight.add_(1.0)
    moved_bias = bias.detach().clone()
    prior.apply()
    # w -= lr * lambda * (w - W): 1.0 - 0.1 * 0.5 * 1.0 = 0.95 away from the start
    assert torch.allclose(weight - start, torch.full_like(start, 0.95))
    assert torch.allclose(model.classifier.weight, head + 1.0)  # the new head is not pulled
    assert torch.equal(bias, moved_bias)  # biases are not decayed


def test_block_distance_is_the_l2_norm_of_the_change():
    model = build_model(MODEL, 2, init_seed=1, num_layers=2)
    distance = BlockDistance(model)
    assert distance.measure() == [0.0, 0.0]
    with torch.no_grad():
        w = model.bert.encoder.layer[1].attention.self.query.weight
        w.add_(torch.full_like(w, 0.01))
    assert distance.measure()[0] == 0.0
    assert distance.measure()[1] == pytest.approx(0.01 * w.numel() ** 0.5, rel=1e-4)


def test_full_train_split_keeps_validation_out_of_train():
    task = get_task("MNLI")
    labels = np.repeat([0, 1, 2], 1000)
    few = split_indices(task, labels, np.zeros(10))
    full = split_indices(task, labels, np.zeros(10), full_train=True)
    assert np.array_equal(np.sort(few["validation"][1]), np.sort(full["validation"][1]))
    assert len(full["train"][1]) == 3000 - 1000
    assert not set(full["train"][1]) & set(full["validation"][1])


def test_intermediate_task_is_trained_once_and_transferred(tmp_path, monkeypatch):
    monkeypatch.setenv("SUITE_CACHE", str(tmp_path))
    cfg = TrainConfig(task="RTE", model=MODEL, num_layers=1, max_seq_len=32, batch_size=8, lr=1e-4, epochs=1,
                      evaluations=1, train_examples=16, eval_examples=16, intermediate="SST-2", init_seed=1,
                      data_seed=1)
    first = train(cfg, keep_model=True)
    cached = list(tmp_path.glob("intermediate-*.pt"))
    assert len(cached) == 1 and first["outcome"] == "finished"
    state = torch.load(cached[0], weights_only=True)
    pretrained = build_model(MODEL, 2, init_seed=1, num_layers=1).bert.state_dict()
    assert any(not torch.equal(state[k], pretrained[k]) for k in pretrained)  # SST-2 fine-tuning moved it
    mtime = cached[0].stat().st_mtime_ns
    again = train(cfg)
    assert cached[0].stat().st_mtime_ns == mtime  # reused, not retrained
    assert again["metrics"]["best_val"] == first["metrics"]["best_val"]


def test_micro_batches_accumulate_the_same_gradient_as_the_full_batch():
    from trainers.loop import collate, encoded_splits, forward_backward
    model = build_model(MODEL, 2, init_seed=1, num_layers=1).eval()  # no dropout: the two must agree exactly
    splits, pad = encoded_splits("RTE", MODEL, 32, 64, 32)
    inputs, labels = collate(splits["train"], list(range(8)), pad, False)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    full = forward_backward(model, inputs, labels, "fp32", scaler)
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    split = forward_backward(model, inputs, labels, "fp32", scaler, micro_batch=3)  # 3 + 3 + 2 examples
    assert split.item() == pytest.approx(full.item(), rel=1e-6)
    for g, p in zip(grads, model.parameters()):
        assert torch.allclose(g, p.grad, atol=1e-6, rtol=1e-4)


def test_out_of_memory_retries_with_half_the_micro_batch():
    from pipelines.trial import train_within_memory
    seen = []

    def train_on_small_gpu(cfg, on_eval=None, micro_batch=None):  # a GPU that fits at most 2 examples at once
        seen.append(micro_batch)
        if (micro_batch or cfg.batch_size) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return train(cfg, micro_batch=micro_batch)

    cfg = TrainConfig(task="RTE", model=MODEL, num_layers=1, max_seq_len=32, batch_size=8, epochs=1, evaluations=1,
                      train_examples=16, eval_examples=16, init_seed=1, data_seed=1)
    result, micro_batch = train_within_memory(cfg, train_on_small_gpu)
    assert seen == [None, 4, 2] and micro_batch == 2
    assert result["outcome"] == "finished" and result["metrics"]["steps"] == 2  # the same 8-example batches
