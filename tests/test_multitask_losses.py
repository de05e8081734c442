"""trainers.multitask.losses against arithmetic written out by hand (numpy float64 on tiny tensors), plus invariants:
the mean-teacher consistency, ramp-up and EMA (CuriousAI), SimCSE, MNR and SMART (mt-dnn perturbation.py)."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch.optim.swa_utils import get_ema_multi_avg_fn

from trainers.averaging import ema_update
from trainers.multitask.losses import consistency, mnr_loss, rampup_weight, simcse_loss, smart_loss


def np64(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float64)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def two_class(z: np.ndarray) -> np.ndarray:
    s = 1.0 / (1.0 + np.exp(-z))
    return np.stack([1.0 - s, s], axis=-1)


def sym_kl_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """KL(P‖Q) + KL(Q‖P) per row."""
    return (p * np.log(p / q)).sum(-1) + (q * np.log(q / p)).sum(-1)


def close(actual, expected, rtol=1e-5, atol=1e-7):
    np.testing.assert_allclose(np64(actual) if torch.is_tensor(actual) else actual, expected, rtol=rtol, atol=atol)


S = torch.tensor([[1.0, -0.5, 2.0], [0.0, 0.3, -1.2]])
T = torch.tensor([[0.5, 0.5, 1.0], [-0.4, 1.1, 0.2]])


# ----------------------------------------------------------------------------------------------------- consistency

def test_softmax_mse_is_the_sum_of_squared_probability_gaps_over_classes_and_batch():
    ps, pt = softmax(np64(S)), softmax(np64(T))
    total = sum((ps[b, k] - pt[b, k]) ** 2 for b in range(2) for k in range(3))
    close(consistency(S, T, "mse", "classes"), total / 3 / 2)


@pytest.mark.parametrize("shape", [(3,), (3, 1)])
def test_binary_mse_uses_the_two_class_distribution(shape):
    s, t = torch.tensor([0.2, -1.0, 3.0]), torch.tensor([1.0, -2.0, 2.5])
    total = 0.0
    for a, b in zip(s.tolist(), t.tolist()):
        sa, sb = 1 / (1 + math.exp(-a)), 1 / (1 + math.exp(-b))
        total += ((1 - sa) - (1 - sb)) ** 2 + (sa - sb) ** 2
    close(consistency(s.reshape(shape), t.reshape(shape), "mse", "binary"), total / 2 / 3)


def test_regression_mse_is_the_plain_mean_squared_difference():
    s, t = torch.tensor([1.0, 2.5, -0.5, 4.0]), torch.tensor([0.5, 2.0, 0.5, 4.0])
    close(consistency(s, t, "mse", "regression"), (0.25 + 0.25 + 1.0 + 0.0) / 4)


def test_kl_is_symmetric_kl_batchmean_for_classes_and_binary():
    p, q = softmax(np64(T)), softmax(np64(S))  # P = teacher, Q = student
    expected = sum(p[b, k] * math.log(p[b, k] / q[b, k]) + q[b, k] * math.log(q[b, k] / p[b, k])
                   for b in range(2) for k in range(3)) / 2
    close(consistency(S, T, "kl", "classes"), expected)
    s, t = torch.tensor([0.2, -1.0, 3.0]), torch.tensor([1.0, -2.0, 2.5])
    close(consistency(s, t, "kl", "binary"), sym_kl_rows(two_class(np64(t)), two_class(np64(s))).mean())


def test_kl_student_gradient_is_the_full_symmetric_kl_gradient():
    # d/dz_q [KL(P‖Q) + KL(Q‖P)] = (q - p) + q ⊙ (d - <q, d>), d = log q - log p; divided by B
    s = S.clone().requires_grad_()
    consistency(s, T, "kl", "classes").backward()
    p, q = softmax(np64(T)), softmax(np64(S))
    d = np.log(q) - np.log(p)
    close(s.grad, ((q - p) + q * (d - (q * d).sum(-1, keepdims=True))) / 2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind,task_kind,shape", [("mse", "classes", (2, 3)), ("kl", "classes", (2, 3)),
                                                  ("mse", "binary", (2,)), ("kl", "binary", (2, 1)),
                                                  ("mse", "regression", (2,))])
def test_no_gradient_reaches_the_teacher(kind, task_kind, shape):
    student = torch.randn(shape, generator=torch.Generator().manual_seed(1)).requires_grad_()
    teacher = torch.randn(shape, generator=torch.Generator().manual_seed(2)).requires_grad_()
    consistency(student, teacher, kind, task_kind).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


@pytest.mark.parametrize("kind", ["mse", "kl"])
def test_consistency_invariants(kind):
    assert consistency(S, S.clone(), kind, "classes").item() == pytest.approx(0.0, abs=1e-7)
    assert consistency(S, T, kind, "classes") >= 0
    forward, backward = consistency(S, T, kind, "classes"), consistency(T, S, kind, "classes")
    assert forward.item() == pytest.approx(backward.item(), rel=1e-5)  # both kinds are symmetric in value
    assert consistency(S + 7.0, T - 3.0, kind, "classes").item() == pytest.approx(  # softmax ignores shifts
        consistency(S, T, kind, "classes").item(), rel=1e-5)
    z_s, z_t = torch.tensor([0.2, -1.0, 3.0]), torch.tensor([1.0, -2.0, 2.5])  # binary = classes with logits [0, z]
    as_classes = lambda z: torch.stack([torch.zeros_like(z), z], dim=-1)
    assert consistency(z_s, z_t, kind, "binary").item() == pytest.approx(
        consistency(as_classes(z_s), as_classes(z_t), kind, "classes").item(), rel=1e-5)


def test_consistency_is_finite_for_extreme_fp32_and_bf16_logits():
    big = torch.tensor([[1e4, -1e4, 0.0], [50.0, 50.0, -1e4]])
    for kind in ("mse", "kl"):
        assert torch.isfinite(consistency(big, big.flip(-1), kind, "classes"))
        assert torch.isfinite(consistency(torch.tensor([100.0, -100.0]), torch.tensor([-100.0, 100.0]), kind, "binary"))
        out = consistency(S.bfloat16(), T.bfloat16(), kind, "classes")
        assert out.dtype == torch.float32 and torch.isfinite(out)


def test_consistency_rejects_bad_kinds_and_shapes():
    with pytest.raises(ValueError, match="'mse'"):
        consistency(torch.zeros(3), torch.ones(3), "kl", "regression")
    with pytest.raises(ValueError, match="'mse', 'kl'"):
        consistency(S, T, "js", "classes")
    with pytest.raises(ValueError, match="task_kind"):
        consistency(S, T, "mse", "ranking")
    with pytest.raises(ValueError, match="shape"):
        consistency(S, T[:, :2], "mse", "classes")
    with pytest.raises(ValueError, match="one output per row"):
        consistency(S, T, "mse", "binary")


# ------------------------------------------------------------------------------------------------------ ramp-up

def test_rampup_weight_by_hand():
    assert rampup_weight(2.0, 100.0, 5.0) == pytest.approx(100.0 * math.exp(-5.0 * 0.6 ** 2))  # phase 1 - 2/5
    assert rampup_weight(0.0, 100.0, 5.0) == pytest.approx(100.0 * math.exp(-5.0))
    assert rampup_weight(-3.0, 100.0, 5.0) == pytest.approx(100.0 * math.exp(-5.0))  # clipped at 0
    assert rampup_weight(5.0, 100.0, 5.0) == 100.0
    assert rampup_weight(9.0, 100.0, 5.0) == 100.0  # clipped at rampup
    assert rampup_weight(0.0, 3.0, 0) == 3.0
    weights = [rampup_weight(p / 10, 1.0, 5.0) for p in range(60)]
    assert all(a <= b for a, b in zip(weights, weights[1:]))
    with pytest.raises(ValueError):
        rampup_weight(1.0, 1.0, -1.0)


# ---------------------------------------------------------------------------------------------------------- EMA

class WithBuffer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        self.register_buffer("position_ids", torch.arange(4))


def _set(module: WithBuffer, weight, bias, buffer=None):
    with torch.no_grad():
        module.lin.weight.copy_(torch.tensor([weight]))
        module.lin.bias.copy_(torch.tensor([bias]))
        if buffer is not None:
            module.position_ids.copy_(torch.tensor(buffer))


@pytest.mark.parametrize("decay", [0.0, 0.5, 0.999])
def test_ema_step_zero_copies_the_student(decay):
    teacher, student = WithBuffer(), WithBuffer()
    _set(teacher, [9.0, 9.0], 9.0, [7, 7, 7, 7])
    _set(student, [0.1, -0.2], 0.3)
    ema_update(teacher, student, decay, step=0)
    for t, s in zip(teacher.state_dict().values(), student.state_dict().values()):
        assert torch.equal(t, s)


def test_ema_decay_zero_copies_the_student_at_any_step():
    teacher, student = WithBuffer(), WithBuffer()
    _set(teacher, [9.0, 9.0], 9.0)
    _set(student, [0.1, -0.2], 0.3)
    ema_update(teacher, student, 0.0, step=7)
    assert torch.equal(teacher.lin.weight, student.lin.weight) and torch.equal(teacher.lin.bias, student.lin.bias)


def test_ema_two_steps_by_hand_and_buffers_copied():
    teacher, student = WithBuffer(), WithBuffer()
    _set(teacher, [1.0, 2.0], 0.5, [0, 0, 0, 0])
    _set(student, [3.0, -2.0], 1.5, [0, 1, 2, 3])
    ema_update(teacher, student, decay=0.6, step=1)  # α = min(1 - 1/2, .6) = .5
    close(teacher.lin.weight, [[0.5 * 1.0 + 0.5 * 3.0, 0.5 * 2.0 + 0.5 * -2.0]])  # [[2, 0]]
    close(teacher.lin.bias, [0.5 * 0.5 + 0.5 * 1.5])  # [1]
    assert teacher.position_ids.tolist() == [0, 1, 2, 3]
    _set(student, [4.0, 1.0], -1.0, [3, 2, 1, 0])
    ema_update(teacher, student, decay=0.6, step=2)  # α = min(1 - 1/3, .6) = .6
    close(teacher.lin.weight, [[0.6 * 2.0 + 0.4 * 4.0, 0.6 * 0.0 + 0.4 * 1.0]])  # [[2.8, .4]]
    close(teacher.lin.bias, [0.6 * 1.0 + 0.4 * -1.0])  # [.2]
    assert teacher.position_ids.tolist() == [3, 2, 1, 0]  # copied, not averaged
    assert teacher.lin.weight.requires_grad and teacher.lin.weight.grad_fn is None


def test_ema_is_the_true_mean_until_alpha_reaches_decay():
    teacher, student = WithBuffer(), WithBuffer()
    snapshots = [([1.0, 0.0], 0.0), ([3.0, 2.0], 1.0), ([-1.0, 4.0], 2.0), ([5.0, -6.0], 5.0)]
    _set(teacher, *snapshots[0])
    for step, snapshot in enumerate(snapshots[1:], start=1):
        _set(student, *snapshot)
        ema_update(teacher, student, decay=1.0, step=step)
    close(teacher.lin.weight, [[(1 + 3 - 1 + 5) / 4, (0 + 2 + 4 - 6) / 4]])
    close(teacher.lin.bias, [(0 + 1 + 2 + 5) / 4])


def test_ema_matches_torch_swa_utils_ema_when_alpha_is_the_decay():
    torch.manual_seed(0)
    student, teacher = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    reference = copy.deepcopy(teacher)
    ema_update(teacher, student, decay=0.9, step=10_000)  # min(1 - 1/10001, .9) = .9
    get_ema_multi_avg_fn(0.9)(list(reference.parameters()), list(student.parameters()), None)
    for ours, theirs in zip(teacher.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs)


def test_ema_rejects_mismatched_modules_and_bad_arguments():
    with pytest.raises(ValueError, match="differ"):
        ema_update(torch.nn.Linear(2, 1), torch.nn.Sequential(torch.nn.Linear(2, 1)), 0.9, 1)
    with pytest.raises(ValueError):
        ema_update(torch.nn.Linear(2, 1), torch.nn.Linear(2, 1), 1.5, 1)
    with pytest.raises(ValueError):
        ema_update(torch.nn.Linear(2, 1), torch.nn.Linear(2, 1), 0.9, -1)


# ------------------------------------------------------------------------------------------- SimCSE and MNR

A = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
B = torch.tensor([[2.0, 1.0], [0.0, 1.0], [-1.0, 1.0]])


def in_batch_ce_rows(a: np.ndarray, b: np.ndarray, scale: float) -> list[float]:
    rows = []
    for i in range(len(a)):
        logits = [scale * float(a[i] @ b[j]) / (math.hypot(*a[i]) * math.hypot(*b[j])) for j in range(len(b))]
        rows.append(-logits[i] + math.log(sum(math.exp(x) for x in logits)))
    return rows


@pytest.mark.parametrize("tau", [1.0, 0.05])
def test_simcse_by_hand(tau):
    close(simcse_loss(A, B, tau), np.mean(in_batch_ce_rows(np64(A), np64(B), 1 / tau)), rtol=1e-5)


def test_simcse_invariants_and_temperature():
    assert simcse_loss(A, B, 0.05).item() == pytest.approx(
        simcse_loss(A * torch.tensor([[3.0], [0.5], [10.0]]), B * 7.0, 0.05).item(), rel=1e-5)  # cosine: scale-free
    assert simcse_loss(A[:1], B[:1], 0.05).item() == pytest.approx(0.0, abs=1e-7)  # one row: nothing to rank against
    eye = torch.eye(3)
    assert simcse_loss(eye, eye, 0.05).item() == pytest.approx(math.log(1 + 2 * math.exp(-20)), abs=1e-7)
    for tau in (0.0, -0.1):
        with pytest.raises(ValueError, match="temperature"):
            simcse_loss(A, B, tau)


@pytest.mark.parametrize("scale", [20.0, 1.0])
def test_mnr_by_hand(scale):
    close(mnr_loss(A, B, scale=scale), np.mean(in_batch_ce_rows(np64(A), np64(B), scale)), rtol=1e-5)


def test_mnr_weighted_mean_by_hand():
    rows = in_batch_ce_rows(np64(A), np64(B), 20.0)
    w = [math.exp(4.2) / 10, math.exp(1.0) / 10, 0.0]
    close(mnr_loss(A, B, weights=torch.tensor(w)), (w[0] * rows[0] + w[1] * rows[1]) / (w[0] + w[1]), rtol=1e-5)
    assert mnr_loss(A, B, weights=torch.ones(3)).item() == pytest.approx(mnr_loss(A, B).item(), rel=1e-6)
    assert mnr_loss(A, B, weights=torch.tensor(w) * 50).item() == pytest.approx(  # a weighted mean is scale-free
        mnr_loss(A, B, weights=torch.tensor(w)).item(), rel=1e-6)
    assert mnr_loss(A, B, scale=1 / 0.05).item() == pytest.approx(simcse_loss(A, B, 0.05).item(), rel=1e-6)


def test_mnr_rejects_bad_weights_and_shapes():
    for bad in (torch.zeros(3), torch.tensor([1.0, -1.0, 1.0]), torch.ones(2), torch.tensor([1.0, float("nan"), 1.0])):
        with pytest.raises(ValueError):
            mnr_loss(A, B, weights=bad)
    with pytest.raises(ValueError):
        mnr_loss(A, B[:2])


# ------------------------------------------------------------------------------------------------------- SMART

BATCH, LENGTH, HIDDEN = 2, 3, 4


class Recorder:
    """A forward that remembers its inputs (the ascent pass, then the final pass), so δ can be read back."""

    def __init__(self, fn):
        self.fn, self.inputs = fn, []

    def __call__(self, x):
        self.inputs.append(x.detach().clone())
        return self.fn(x)


def _embeddings(seed=3):
    return torch.randn(BATCH, LENGTH, HIDDEN, generator=torch.Generator().manual_seed(seed))


def _noise(seed, sigma):
    generator = torch.Generator().manual_seed(seed)  # the draw smart_loss documents: fp32 randn, times σ
    return np64(torch.randn(BATCH, LENGTH, HIDDEN, generator=generator, dtype=torch.float32)) * sigma


def _normalise(step: np.ndarray, eps: float) -> np.ndarray:
    return step / (np.abs(step).max(-1, keepdims=True) + eps)


W_REG = torch.tensor([[0.5, -1.0, 0.25, 2.0], [1.5, 0.0, -0.5, 1.0], [-2.0, 0.75, 1.0, -0.25]])  # (L, H)


def test_smart_regression_step_by_hand():
    sigma, eta, eps = 1e-2, 10.0, 1e-6
    e = _embeddings()
    forward = Recorder(lambda x: (x * W_REG).sum((1, 2)))
    loss = smart_loss(forward, e, forward.fn(e), "regression", sigma, eta, eps, torch.Generator().manual_seed(0))
    w, d0 = np64(W_REG), _noise(0, sigma)
    s = (d0 * w).sum((1, 2))  # f(x + δ₀) - f(x) per row; ascent ℓ = Σ_b s_b² (mt-dnn sums), g_b = 2 s_b w
    g = 2 * s[:, None, None] * w[None]
    d1 = _normalise(d0 + eta * g, eps)
    assert np.abs(d1 - d0 / np.abs(d0).max(-1, keepdims=True)).max() > 0.1  # the ascent step moved δ here
    close(forward.inputs[0] - e, d0, rtol=0, atol=1e-7)
    close(forward.inputs[1] - e, d1, rtol=0, atol=1e-5)  # read back through fp32 x + δ
    close(loss, ((d1 * w).sum((1, 2)) ** 2).mean(), rtol=1e-5)  # final: mean over rows


def test_smart_classes_step_final_value_and_gradients_by_hand():
    sigma, eta, eps = 5e-2, 5.0, 1e-6
    weight = torch.tensor([[0.5, -1.0, 0.2], [1.0, 0.3, -0.7], [-0.4, 0.9, 1.1], [0.2, -0.5, 0.6]], requires_grad=True)
    e = _embeddings()
    forward = Recorder(lambda x: x.sum(1) @ weight)
    clean = (e.sum(1) @ weight).detach().requires_grad_()  # a leaf, so its gradient can be read
    loss = smart_loss(forward, e, clean, "classes", sigma, eta, eps, torch.Generator().manual_seed(0))
    assert weight.grad is None  # the ascent step leaves no gradient on the parameters
    loss.backward()

    W, x = np64(weight), np64(e)
    p_c = softmax(x.sum(1) @ W)
    d0 = _noise(0, sigma)
    p_a = softmax((x + d0).sum(1) @ W)
    d = np.log(p_a) - np.log(p_c)  # gradient of Σ_b symKL wrt the adversarial logits, clean fixed
    grad_z = (p_a - p_c) + p_a * (d - (p_a * d).sum(-1, keepdims=True))
    g = np.repeat((grad_z @ W.T)[:, None, :], LENGTH, axis=1)  # ∂z/∂δ_{l,h} = W[h, :] for every token l
    d1 = _normalise(d0 + eta * g, eps)
    close(forward.inputs[1] - e, d1, rtol=0, atol=1e-5)
    x1 = (x + d1).sum(1)
    p_a1 = softmax(x1 @ W)
    close(loss, sym_kl_rows(p_a1, p_c).mean(), rtol=1e-4)
    # mt-dnn SymKlCriterion: the clean side gets ∇ KL(sg(P_adv)‖P_clean), the adversarial side ∇ KL(sg(P_clean)‖P_adv)
    close(clean.grad, (p_c - p_a1) / BATCH, rtol=1e-4, atol=1e-6)
    close(weight.grad, sum(np.outer(x1[b], p_a1[b] - p_c[b]) for b in range(BATCH)) / BATCH, rtol=1e-4, atol=1e-6)


def test_smart_binary_equals_classes_with_logits_zero_and_z():
    e = _embeddings()
    w = W_REG * 0.3
    binary = lambda x: (x * w).sum((1, 2))
    classes = lambda x: torch.stack([torch.zeros(x.shape[0]), binary(x)], dim=-1)
    kwargs = dict(sigma=5e-2, eta=5.0)
    a = smart_loss(binary, e, binary(e), "binary", generator=torch.Generator().manual_seed(4), **kwargs)
    b = smart_loss(classes, e, classes(e), "classes", generator=torch.Generator().manual_seed(4), **kwargs)
    assert a.item() == pytest.approx(b.item(), rel=1e-5)
    assert a > 0


def test_smart_delta_has_unit_inf_norm_per_token_up_to_eps():
    e = _embeddings()
    forward = Recorder(lambda x: (x * W_REG).sum((1, 2)))
    smart_loss(forward, e, forward.fn(e), "regression", generator=torch.Generator().manual_seed(0))  # defaults
    d0 = _noise(0, 1e-5)
    w = np64(W_REG)
    step = d0 + 1e-3 * 2 * (d0 * w).sum((1, 2))[:, None, None] * w[None]
    m = np.abs(step).max(-1)
    got = np.abs(np64(forward.inputs[1] - e)).max(-1)
    close(got, m / (m + 1e-6), rtol=1e-4)  # not 1: ε = 1e-6 is 3-10% of m ≈ 1e-5 at σ = 1e-5
    assert ((got > 0.85) & (got < 1.0)).all()
    # at mt-dnn's defaults η g is O(ησ) next to δ₀ = O(σ): δ is the rescaled noise to within a fraction of a percent
    close(forward.inputs[1] - e, d0 / (np.abs(d0).max(-1, keepdims=True) + 1e-6), rtol=0, atol=1e-2)
    forward.inputs.clear()
    smart_loss(forward, e, forward.fn(e), "regression", eps=0.0, generator=torch.Generator().manual_seed(0))
    close(np.abs(np64(forward.inputs[1] - e)).max(-1), np.ones((BATCH, LENGTH)), rtol=1e-6)


def test_smart_large_eta_aligns_delta_with_the_gradient_sign_pattern():
    e = _embeddings()
    forward = Recorder(lambda x: (x * W_REG).sum((1, 2)))
    smart_loss(forward, e, forward.fn(e), "regression", eta=1e6, generator=torch.Generator().manual_seed(0))
    w, d0 = np64(W_REG), _noise(0, 1e-5)
    sign = np.sign((d0 * w).sum((1, 2)))  # g_b = 2 s_b w: δ_b,l → sign(s_b) w_l / max|w_l|
    close(forward.inputs[1] - e, sign[:, None, None] * (w / np.abs(w).max(-1, keepdims=True))[None], rtol=0, atol=1e-4)


def test_smart_is_zero_for_a_forward_constant_in_its_input():
    e = _embeddings()
    bias = torch.nn.Parameter(torch.tensor([0.3, -1.0, 2.0]))
    fixed = torch.tensor([0.3, -1.0, 2.0])
    for forward in (lambda x: bias.expand(x.shape[0], 3) + 0.0 * x.sum(),  # in the graph, zero gradient
                    lambda x: bias.expand(x.shape[0], 3),  # not in the graph
                    lambda x: fixed.expand(x.shape[0], 3)):  # no gradient anywhere
        for task_kind, out in (("classes", forward), ("regression", lambda x, f=forward: f(x)[:, 0])):
            loss = smart_loss(out, e, out(e), task_kind, generator=torch.Generator().manual_seed(0))
            assert loss.item() == 0.0


def test_smart_gradient_reaches_the_forward_parameters_and_the_embeddings():
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(HIDDEN, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    forward = lambda x: head(x.mean(1))
    e = _embeddings().requires_grad_()
    loss = smart_loss(forward, e, forward(e), "classes", generator=torch.Generator().manual_seed(0))
    assert all(p.grad is None for p in head.parameters())
    loss.backward()
    for p in head.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
    assert e.grad is not None and e.grad.abs().sum() > 0


def test_smart_is_deterministic_given_a_generator_and_guards_non_finite_gradients():
    e = _embeddings()
    f = lambda x: (x * W_REG).sum((1, 2))
    run = lambda seed: smart_loss(f, e, f(e), "regression", generator=torch.Generator().manual_seed(seed)).item()
    assert run(5) == run(5) and run(5) != run(6)
    huge = lambda x: (x * W_REG).sum((1, 2)) * 1e30  # the ascent gradient overflows fp32: mt-dnn returns 0
    assert smart_loss(huge, e, huge(e), "regression", generator=torch.Generator().manual_seed(0)).item() == 0.0


def test_smart_rejects_bad_arguments():
    e = _embeddings()
    f = lambda x: (x * W_REG).sum((1, 2))
    with pytest.raises(ValueError, match="task_kind"):
        smart_loss(f, e, f(e), "ranking")
    with pytest.raises(ValueError, match="B, L, H"):
        smart_loss(lambda x: x.sum(-1), e[0], e[0].sum(-1), "regression")
