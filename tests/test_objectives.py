"""trainers/objectives: exact closed forms of each loss (Kobyzev et al. Eq. 1-6), the registry's errors, and the
trainer kinds each objective serves (the multitask forms of ce and kd against hand-computed values)."""
from __future__ import annotations

import importlib
import math
import pkgutil

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import BertConfig, BertForSequenceClassification

import trainers.objectives as objectives_package
from pipelines.config import ConfigError
from pipelines.validation import _check_multitask
from trainers.objectives import (MULTITASK, OBJECTIVES, SINGLE_TASK, compute_loss, get_objective, resolve, serving,
                                 setting_names)
from trainers.objectives import ce, kd, selfkd, tfreg_code
from trainers.objectives._common import soft_ce
from trainers.objectives.kd import distill_loss


def batch(k: int, n: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, k, (n,), generator=g)
    teacher = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
    return logits, labels, teacher


def grad(fn, logits):
    z = logits.clone().requires_grad_(True)
    return torch.autograd.grad(fn(z), z)[0]


# --- registry -------------------------------------------------------------------------------------------------

def test_registry_lists_every_module_and_its_settings():
    """Each module of trainers/objectives registers its OBJECTIVE, found by listing the folder: a new objective is
    one file, and no list here needs editing (the papers' objectives must stay among them)."""
    modules = [m.name for m in pkgutil.iter_modules(objectives_package.__path__) if not m.name.startswith("_")]
    declared = [importlib.import_module(f"trainers.objectives.{m}").OBJECTIVE.name for m in modules]
    assert sorted(declared) == sorted(OBJECTIVES) == list(OBJECTIVES)  # one each, listed by name
    assert {"ce", "kd", "ls", "sd", "selfkd", "tfreg", "tfreg_code"} <= set(OBJECTIVES)
    assert {"alpha", "temperature", "correct_prob", "multiplier", "lambda"} <= setting_names()
    assert all("Eq." in o.about for o in OBJECTIVES.values())
    assert {n for n, o in OBJECTIVES.items() if o.needs_teacher} == {"kd", "sd", "selfkd"}
    assert resolve("tfreg_code", {"alpha": 0.1}) == {"alpha": 0.1, "correct_prob": 0.99, "temperature": 1.0,
                                                     "multiplier": 1.0}
    assert resolve("kd", {"alpha": 0.5}) == {"alpha": 0.5, "temperature": 1.0}


@pytest.mark.parametrize("name, args, message", [
    ("xent", {}, f"unknown objective 'xent' (valid: {', '.join(OBJECTIVES)})"),
    ("ls", {"alpha": 0.1, "beta": 1}, "objective 'ls' has no setting 'beta' (valid: alpha)"),
    ("ce", {"alpha": 0.1}, "objective 'ce' has no setting 'alpha' (valid: none)"),
    ("ls", {"alpha": 1.0}, "objective 'ls': alpha=1.0 is invalid (expected a number in [0, 1))"),
    ("tfreg", {"alpha": 0.5, "correct_prob": 0}, "objective 'tfreg': correct_prob=0 is invalid "
                                                 "(expected a number in (0, 1))"),
    ("kd", {"alpha": 0.5, "temperature": 0}, "objective 'kd': temperature=0 is invalid (expected a number > 0)"),
    ("kd", {"alpha": "0.5"}, "objective 'kd': alpha='0.5' is invalid (expected a number in [0, 1])"),
    ("ls", {"alpha": True}, "objective 'ls': alpha=True is invalid"),
    ("tfreg", {"alpha": 0.5}, "objective 'tfreg' needs setting 'correct_prob' (a number in (0, 1))"),
])
def test_bad_settings_raise_one_line_errors(name, args, message):
    logits, labels, teacher = batch(3)
    with pytest.raises(ValueError) as err:
        compute_loss(name, logits, labels, args, teacher)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_teacher_logits_missing_or_misshapen():
    logits, labels, teacher = batch(3)
    for name in ("kd", "selfkd"):
        with pytest.raises(ValueError, match=rf"^objective '{name}' needs teacher_logits .*got None$"):
            compute_loss(name, logits, labels, {"alpha": 0.5})
    with pytest.raises(ValueError, match=r"teacher_logits must match .*\(8, 3\), got \(8, 2\)"):
        compute_loss("kd", logits, labels, {"alpha": 0.5}, teacher[:, :2])
    with pytest.raises(ValueError, match=r"'ls' is for classification: .* got \(8, 1\)"):
        compute_loss("ls", logits[:, :1], labels.double(), {"alpha": 0.1})


# --- ce: bit-identical to Hugging Face's loss -----------------------------------------------------------------

@pytest.mark.parametrize("num_labels", [2, 3, 1])
def test_ce_equals_hf_bert_loss_exactly(num_labels):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32, num_labels=num_labels)
    model = BertForSequenceClassification(config).eval()
    ids = torch.randint(0, 100, (5, 12))
    y = torch.randn(5) if num_labels == 1 else torch.randint(0, num_labels, (5,))
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=y)
    assert model.config.problem_type == ("regression" if num_labels == 1 else "single_label_classification")
    assert torch.equal(compute_loss("ce", out.logits, y, {}), out.loss)


# --- closed forms ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k, alpha", [(2, 0.1), (5, 0.3), (64, 0.0)])
def test_ls_equals_torch_label_smoothing(k, alpha):
    logits, labels, _ = batch(k)
    expected = F.cross_entropy(logits, labels, label_smoothing=alpha)
    torch.testing.assert_close(compute_loss("ls", logits, labels, {"alpha": alpha}), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("k, alpha, a, alpha_eff", [(2, 0.5, 0.95, 0.05), (5, 0.5, 0.95, 0.03125),
                                                    (64, 0.5, 0.95, 0.025396825)])
def test_tfreg_is_label_smoothing_with_alpha_eff(k, alpha, a, alpha_eff):
    assert alpha * k * (1 - a) / (k - 1) == pytest.approx(alpha_eff)
    logits, labels, _ = batch(k)
    got = compute_loss("tfreg", logits, labels, {"alpha": alpha, "correct_prob": a})
    expected = F.cross_entropy(logits, labels, label_smoothing=alpha * k * (1 - a) / (k - 1))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    q = OBJECTIVES["tfreg"].target(labels, k, {"alpha": alpha, "correct_prob": a}, None)
    assert q[0, labels[0]].item() == pytest.approx(1 - alpha + alpha * a)  # Eq. 5 on gold


def _repo_loss_kd_regularization(outputs, labels, alpha, T, multiplier, correct_prob=0.99):
    """Transcription of Tf-KD my_loss_function.py `loss_kd_regularization` (880a74ec), minus `.cuda()`."""
    loss_CE = F.cross_entropy(outputs, labels)
    K = outputs.size(1)
    teacher_soft = torch.ones_like(outputs) * (1 - correct_prob) / (K - 1)
    for i in range(outputs.shape[0]):
        teacher_soft[i, labels[i]] = correct_prob
    with pytest.warns(UserWarning, match="'mean' divides the total loss by both"):
        kl = nn.KLDivLoss()(F.log_softmax(outputs, dim=1), F.softmax(teacher_soft / T, dim=1)) * multiplier
    return (1. - alpha) * loss_CE + alpha * kl


@pytest.mark.parametrize("k, args", [(2, {"alpha": 0.5, "correct_prob": 0.95}),
                                     (100, {"alpha": 0.1, "temperature": 20.0, "multiplier": 100.0}),
                                     (5, {"alpha": 0.9, "correct_prob": 0.8, "temperature": 3.0, "multiplier": 7.0})])
def test_tfreg_code_matches_repo_and_its_effective_target(k, args):
    logits, labels, _ = batch(k)
    full = resolve("tfreg_code", args)
    got = compute_loss("tfreg_code", logits, labels, args)
    expected = _repo_loss_kd_regularization(logits, labels, full["alpha"], full["temperature"],
                                            full["multiplier"], full["correct_prob"])
    assert torch.equal(got, expected)
    # gradient = c * gradient of soft-CE on q*, c = (1 - alpha) + alpha m / K
    c = (1 - full["alpha"]) + full["alpha"] * full["multiplier"] / k
    q_star = tfreg_code.target(labels, k, full, None, dtype=torch.float64)
    torch.testing.assert_close(q_star.sum(1), torch.ones(len(labels), dtype=torch.float64))
    torch.testing.assert_close(grad(lambda z: compute_loss("tfreg_code", z, labels, args), logits),
                               c * grad(lambda z: soft_ce(z, q_star), logits), rtol=0, atol=1e-9)


def test_tfreg_code_teacher_is_a_softmax_of_probabilities():
    labels = torch.tensor([0, 1])
    p_code = tfreg_code.code_teacher(labels, 2, 0.95, 1.0)  # K=2, T=1, a=.95: not .95 on gold but .71
    assert p_code[0, 0].item() == pytest.approx(torch.softmax(torch.tensor([0.95, 0.05]), 0)[0].item())
    assert p_code[0, 0].item() == pytest.approx(0.7109495)
    assert p_code[1, 1].item() == pytest.approx(0.7109495)
    # the repo's CIFAR config (K=100, T=20, a=.99): the "teacher" is near-uniform, .0105 on gold
    assert tfreg_code.code_teacher(labels, 100, 0.99, 20.0)[0, 0].item() == pytest.approx(0.0105, abs=5e-5)
    # with alpha .5, m 1 the effective target on gold: (.5 + .25 * .7109) / .75
    q = tfreg_code.target(labels, 2, resolve("tfreg_code", {"alpha": 0.5, "correct_prob": 0.95}), None)
    assert q[0, 0].item() == pytest.approx((0.5 + 0.25 * 0.7109495) / 0.75)


@pytest.mark.parametrize("name", ["kd", "selfkd"])
def test_kd_at_t1_has_the_gradient_of_soft_ce_on_eq2_target(name):
    logits, labels, teacher = batch(4)
    args = {"alpha": 0.5, "temperature": 1.0}
    q = OBJECTIVES[name].target(labels, 4, args, F.softmax(teacher, dim=-1))
    torch.testing.assert_close(q, 0.5 * F.one_hot(labels, 4).double() + 0.5 * F.softmax(teacher, dim=-1))
    g_kd = grad(lambda z: compute_loss(name, z, labels, args, teacher), logits)
    g_soft = grad(lambda z: soft_ce(z, q), logits)
    torch.testing.assert_close(g_kd, g_soft, rtol=0, atol=1e-12)
    # the values differ by alpha times the teacher's mean entropy, a constant
    entropy = -(F.softmax(teacher, -1) * F.log_softmax(teacher, -1)).sum(-1).mean()
    torch.testing.assert_close(compute_loss(name, logits, labels, args, teacher) + 0.5 * entropy, soft_ce(logits, q))


def test_kd_alpha0_is_ce_and_temperature_uses_hinton_t2_batchmean():
    logits, labels, teacher = batch(3)
    assert torch.equal(compute_loss("kd", logits, labels, {"alpha": 0.0, "temperature": 4.0}, teacher),
                       compute_loss("ce", logits, labels, {}))
    t, alpha = 4.0, 0.7
    pt, log_ps = F.softmax(teacher / t, -1), F.log_softmax(logits / t, -1)
    kl = (pt * (pt.log() - log_ps)).sum(-1).mean()  # batchmean: per-example KL, averaged
    expected = (1 - alpha) * F.cross_entropy(logits, labels) + alpha * t * t * kl
    torch.testing.assert_close(compute_loss("kd", logits, labels, {"alpha": alpha, "temperature": t}, teacher),
                               expected, rtol=0, atol=1e-12)
    # the teacher gets no gradient
    tz = teacher.clone().requires_grad_(True)
    assert not compute_loss("kd", logits, labels, {"alpha": alpha}, tz).requires_grad


def test_selfkd_reuses_kd():
    assert selfkd.OBJECTIVE.loss is kd.kd_loss and selfkd.OBJECTIVE.settings is kd.OBJECTIVE.settings
    assert "same-seed Finetune" in selfkd.__doc__


@pytest.mark.parametrize("name", [n for n, o in OBJECTIVES.items() if n != "tfreg_code" and o.target])
def test_every_loss_is_soft_ce_on_its_target_up_to_a_constant(name):  # Kobyzev et al.'s arms (SD has no target)
    """Fig 1: each arm (at T=1) trains on CE with soft target q'; same gradient, rows of q' sum to 1."""
    k = 5
    logits, labels, teacher = batch(k, seed=3)
    args = {"alpha": 0.3, "correct_prob": 0.9} if name == "tfreg" else {"alpha": 0.3} if name != "ce" else {}
    obj = get_objective(name)
    full = resolve(name, args)
    q = (obj.target(labels, k, full, F.softmax(teacher, -1)) if obj.needs_teacher
         else obj.target(labels, k, full, None, dtype=torch.float64))
    assert q.dtype == torch.float64
    torch.testing.assert_close(q.sum(1), torch.ones(len(labels), dtype=torch.float64))
    torch.testing.assert_close(grad(lambda z: compute_loss(name, z, labels, args, teacher), logits),
                               grad(lambda z: soft_ce(z, q), logits), rtol=0, atol=1e-12)


def test_losses_are_batch_means():
    logits, labels, teacher = batch(3, n=6)
    args = {"ce": {}, "ls": {"alpha": 0.2}, "tfreg": {"alpha": 0.5, "correct_prob": 0.9},
            "tfreg_code": {"alpha": 0.5}, "kd": {"alpha": 0.5, "temperature": 2.0}, "selfkd": {"alpha": 0.5}}
    for name, a in args.items():
        whole = compute_loss(name, logits, labels, a, teacher)
        halves = [compute_loss(name, logits[s], labels[s], a, teacher[s]) for s in (slice(0, 3), slice(3, 6))]
        torch.testing.assert_close(whole, sum(halves) / 2, msg=name)


# --- trainer kinds: every objective serves the single-task trainer, those with a multitask form the other too ---

NOT_MULTITASK = [n for n in OBJECTIVES if n not in serving(MULTITASK)]


def test_kinds_come_from_the_objectives_own_declarations():
    assert serving(SINGLE_TASK) == list(OBJECTIVES)
    assert serving(MULTITASK) == [n for n, o in OBJECTIVES.items() if o.multitask is not None]
    assert {"ce", "kd"} <= set(serving(MULTITASK)) and NOT_MULTITASK  # the papers' multitask arms; some are not
    for name in serving(MULTITASK):  # a multitask form narrows the objective's settings, it adds none
        form = OBJECTIVES[name].multitask
        assert form.settings is None or list(form.settings) == list(OBJECTIVES[name].settings), name
    # multitask KD reads probabilities: T is 1 there, any T > 0 on the single-task trainer
    assert resolve("kd", {"alpha": 0.4}, kind=MULTITASK) == {"alpha": 0.4, "temperature": 1.0}
    with pytest.raises(ValueError, match=r"^objective 'kd': temperature=2.0 is invalid \(expected multitask KD "
                                         r"reads the teacher's probabilities: 1 only\)$"):
        resolve("kd", {"alpha": 0.4, "temperature": 2.0}, kind=MULTITASK)


@pytest.mark.parametrize("name", NOT_MULTITASK)
def test_an_objective_without_a_multitask_form_is_a_one_line_error(name):
    valid = ", ".join(serving(MULTITASK))
    with pytest.raises(ValueError) as err:
        resolve(name, {}, kind=MULTITASK)
    assert str(err.value) == f"objective {name!r} does not serve the multitask trainer (valid: {valid})"
    with pytest.raises(ConfigError) as err:  # suite.yaml's check asks the registry the same
        _check_multitask("experiments.e.arms.a", {"objective": name}, ["minBERT"])
    assert str(err.value) == (f"experiments.e.arms.a.objective: the multitask trainer's objective is "
                              f"{' or '.join(serving(MULTITASK))}, got {name!r}")


def test_multitask_config_checks_every_grid_value_of_the_narrowed_settings():
    _check_multitask("w", {"objective": "kd", "alpha": [0.2, 0.4], "temperature": [1, 1.0]}, ["minBERT"])
    _check_multitask("w", {"objective": "kd", "alpha": 0.4, "temperature": {"searched": "s"}}, ["minBERT"])
    with pytest.raises(ConfigError, match=r"^w.temperature: multitask KD reads the teacher's probabilities: 1 only, "
                                          r"got 3.0$"):
        _check_multitask("w", {"objective": "kd", "alpha": 0.4, "temperature": [1.0, 3.0]}, ["minBERT"])


def _heads(seed: int = 0):
    """One batch of each multitask head's outputs (SST logits, a paraphrase logit, an STS score), labels and a
    teacher's predictions in probability space."""
    g = torch.Generator().manual_seed(seed)
    outputs = {"sst": torch.randn(4, 5, generator=g), "para": torch.randn(4, generator=g),
               "sts": 5 * torch.rand(4, generator=g)}
    labels = {"sst": torch.tensor([0, 4, 2, 1]), "para": torch.tensor([1.0, 0.0, 0.0, 1.0]),
              "sts": torch.tensor([0.2, 3.6, 5.0, 2.5])}
    teacher = {"sst": torch.softmax(torch.randn(4, 5, generator=g), -1), "para": torch.rand(4, generator=g),
               "sts": 5 * torch.rand(4, generator=g)}
    return outputs, labels, teacher


def test_multitask_ce_is_each_heads_label_loss():
    outputs, labels, _ = _heads()
    expected = {"sst": F.cross_entropy(outputs["sst"], labels["sst"]),
                "para": F.binary_cross_entropy_with_logits(outputs["para"], labels["para"]),
                "sts": F.mse_loss(outputs["sts"], labels["sts"])}
    for part, value in expected.items():
        loss, logged = ce.OBJECTIVE.multitask.loss(part, outputs[part], labels[part], {}, None)
        assert torch.equal(loss, value) and logged == {part: value}
    classes = torch.randn(4, 6)  # an STS class head: CE over the rounded scores' 6 classes
    assert torch.equal(ce.label_loss("sts", classes, labels["sts"]),
                       F.cross_entropy(classes, torch.tensor([0, 4, 5, 2])))


@pytest.mark.parametrize("alpha", [0.0, 0.4])
def test_multitask_kd_mixes_the_label_loss_and_the_distill_term(alpha):
    """Venkateswaran's B4 code: (1 - alpha) task + alpha distill, the teacher's probabilities as targets."""
    outputs, labels, teacher = _heads(1)
    for part in outputs:
        loss, logged = kd.OBJECTIVE.multitask.loss(part, outputs[part], labels[part], {"alpha": alpha}, teacher[part])
        task, distill = ce.label_loss(part, outputs[part], labels[part]), distill_loss(part, outputs[part],
                                                                                       teacher[part])
        assert torch.equal(loss, (1 - alpha) * task + alpha * distill)
        assert logged == {part: task, "distill": distill}
    with pytest.raises(ValueError, match="^objective 'kd' on the multitask trainer needs the teacher's predictions"):
        kd.OBJECTIVE.multitask.loss("sst", outputs["sst"], labels["sst"], {"alpha": 0.4}, None)


def test_distill_loss_against_hand_computed_values():
    # SST: soft cross-entropy -sum_k t_k log softmax(s)_k, batch mean
    s = torch.tensor([[2.0, 0.0, -1.0, 0.5, 0.0]])
    t = torch.tensor([[0.5, 0.2, 0.1, 0.1, 0.1]])
    log_p = s[0] - math.log(sum(math.exp(v) for v in s[0].tolist()))
    assert distill_loss("sst", s, t).item() == pytest.approx(-(t[0] * log_p).sum().item(), rel=1e-6)
    # Para: binary cross-entropy of the logit against the ensemble's probability
    x, p = 0.8, 0.3
    bce = -(p * math.log(1 / (1 + math.exp(-x))) + (1 - p) * math.log(1 - 1 / (1 + math.exp(-x))))
    assert distill_loss("para", torch.tensor([x]), torch.tensor([p])).item() == pytest.approx(bce, rel=1e-6)
    # STS: MSE to the ensemble's score; a class head is scored as its expected class first
    assert distill_loss("sts", torch.tensor([3.0, 1.0]), torch.tensor([2.0, 2.0])).item() == pytest.approx(1.0)
    classes = torch.tensor([[0.0, 0, 0, 0, 0, 50.0]])  # all mass on class 5
    assert distill_loss("sts", classes, torch.tensor([4.0])).item() == pytest.approx(1.0, abs=1e-6)
    # the teacher's side takes no gradient; at the teacher's own distribution the SST term is its entropy
    target = torch.tensor([[0.2, 0.8, 0, 0, 0]], requires_grad=True)
    logits = torch.log(torch.tensor([[0.2, 0.8, 1e-12, 1e-12, 1e-12]])).requires_grad_()
    loss = distill_loss("sst", logits, target)
    loss.backward()
    assert target.grad is None and loss.item() == pytest.approx(-(0.2 * math.log(0.2) + 0.8 * math.log(0.8)), rel=1e-4)
    with pytest.raises(ValueError, match="part must be one of sst, para, sts, got 'nli'"):
        distill_loss("nli", s, t)
