"""BERTAdam vs debiased AdamW: the update maths of Algorithm 1 on toy parameters."""
import math

import pytest
import torch

from trainers.optim import BertAdam, build_optimizer

B1, B2, LR = 0.9, 0.999, 1e-3


def _displacements(opt_cls, grads, **kw):
    """Per-step parameter moves, in float64 so that the comparison measures the maths, not rounding."""
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = opt_cls([p], lr=LR, betas=(B1, B2), eps=1e-12, **kw)
    out = []
    for g in grads:
        before = p.detach().clone()
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        out.append(float(before - p.detach()))
    return out


def test_first_step_values_worked_by_hand():
    # m1 = 0.1 g, v1 = 0.001 g^2: BERTAdam moves lr * 0.1 / sqrt(0.001) = 3.1623 lr; Adam moves lr.
    assert _displacements(BertAdam, [2.0])[0] == pytest.approx(LR * 0.1 / math.sqrt(0.001), rel=1e-6)
    assert _displacements(torch.optim.AdamW, [2.0], weight_decay=0.0)[0] == pytest.approx(LR, rel=1e-6)


def test_ratio_to_adam_is_the_bias_term_and_reaches_one():
    steps = 3000
    bert = _displacements(BertAdam, [0.5] * steps)
    adam = _displacements(torch.optim.AdamW, [0.5] * steps, weight_decay=0.0)
    for t in (1, 10, 100, 1000):
        expected = (1 - B1 ** t) / math.sqrt(1 - B2 ** t)
        assert bert[t - 1] / adam[t - 1] == pytest.approx(expected, rel=1e-4)
    assert bert[5] / adam[5] > 1.5  # early steps are overestimated (Fig. 1)
    assert bert[-1] / adam[-1] == pytest.approx(1.0, abs=0.05)  # bias terms near 1: the two agree


def test_equal_to_adam_when_bias_terms_are_one():
    # With beta1 = beta2 = 0 the corrections 1 - beta^t are exactly 1: identical trajectories.
    torch.manual_seed(0)
    grads = torch.randn(20).tolist()
    kw = dict(lr=LR, betas=(0.0, 0.0), eps=1e-8)
    p1, p2 = torch.nn.Parameter(torch.tensor([1.0])), torch.nn.Parameter(torch.tensor([1.0]))
    o1, o2 = BertAdam([p1], **kw), torch.optim.AdamW([p2], weight_decay=0.0, **kw)
    for g in grads:
        p1.grad, p2.grad = torch.tensor([g]), torch.tensor([g])
        o1.step()
        o2.step()
    assert torch.allclose(p1, p2, atol=1e-7)


def test_decoupled_weight_decay_matches_adamw_at_zero_gradient():
    p1, p2 = torch.nn.Parameter(torch.tensor([2.0])), torch.nn.Parameter(torch.tensor([2.0]))
    o1 = BertAdam([p1], lr=0.1, weight_decay=0.5)
    o2 = torch.optim.AdamW([p2], lr=0.1, weight_decay=0.5)
    for _ in range(3):
        p1.grad, p2.grad = torch.zeros(1), torch.zeros(1)
        o1.step()
        o2.step()
    assert p1.item() == pytest.approx(2.0 * 0.95 ** 3, rel=1e-6)
    assert p1.item() == pytest.approx(p2.item(), rel=1e-6)


def test_build_optimizer_groups_and_errors():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    opt = build_optimizer(model, "bertadam", 1e-3, weight_decay=0.01)
    assert isinstance(opt, BertAdam)
    decay, no_decay = opt.param_groups
    assert [p.shape for p in decay["params"]] == [torch.Size([3, 3])]
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0 and len(no_decay["params"]) == 3
    assert isinstance(build_optimizer(model, "adamw", 1e-3), torch.optim.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer 'sgd' \\(valid: adamw, bertadam\\)"):
        build_optimizer(model, "sgd", 1e-3)
