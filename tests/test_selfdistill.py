"""Xu et al. 2020: the step windows (SE, SDA, SDV), the self-teacher's timing, SDA(1) = SDV(1) in the real loop,
and the SD objective."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch

from trainers.averaging import StepWindow, flat, load_flat
from trainers.callbacks import SelfDistillTeacher, SelfEnsemble


class Toy(torch.nn.Module):
    """A classifier whose logits are not linear in its weights (so averaging weights != averaging logits)."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, x):
        return SimpleNamespace(logits=torch.tanh(self.lin(x)) * 3)


def _steps(n: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(8, generator=g) for _ in range(n)]


@pytest.mark.parametrize("k", [1, 2, 5])
def test_window_mean_is_the_direct_mean_of_the_last_k_snapshots(k):
    window, pushed = StepWindow(k), []
    for vector in _steps(9):
        window.push(vector)
        pushed.append(vector.clone())
        expected = torch.stack(pushed[-k:]).mean(0)
        assert torch.allclose(window.mean(), expected, atol=1e-6)
        assert len(window) == min(k, len(pushed))
    if k == 1:  # a window of one is that step exactly (SDA(1) = SDV(1) bit for bit)
        assert torch.equal(window.mean(), pushed[-1])


def test_running_mean_is_the_mean_of_every_step_without_copies():
    window, pushed = StepWindow(None), []
    for vector in _steps(50, seed=3):
        window.push(vector)
        pushed.append(vector)
        assert torch.allclose(window.mean(), torch.stack(pushed).mean(0), atol=1e-6)
    assert not window.snapshots and len(window) == 1


def test_window_errors():
    with pytest.raises(ValueError, match="k >= 1"):
        StepWindow(0)
    with pytest.raises(ValueError, match="empty"):
        StepWindow(3).mean()


def test_self_ensemble_averages_the_weights_after_every_update():
    """SE (Eq. 4): the mean of θ_1..θ_T, the states after each optimizer step (not θ_0)."""
    torch.manual_seed(0)
    model = Toy()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    se, states = SelfEnsemble(), []
    se.start(model)
    for _ in range(6):
        model(torch.randn(4, 3)).logits.square().sum().backward()
        opt.step()
        opt.zero_grad()
        se.after_step(model)
        states.append(flat(model))
    assert torch.allclose(se.weights()["se"], torch.stack(states).mean(0), atol=1e-6)


@pytest.mark.parametrize("kind,k", [("sda", 2), ("sda", None), ("sdv", 3)])
def test_self_teacher_at_step_t_uses_the_k_steps_before_t(kind, k):
    """Eq. 5-7: the teacher at step t averages θ_{t-1}..θ_{t-K} (weights for SDA, logits for SDV); at t = 0 it is
    θ_0. The student's own current weights are never in it."""
    torch.manual_seed(1)
    model, x = Toy(), torch.randn(5, 3)
    teacher = SelfDistillTeacher(kind, k)
    teacher.start(model)
    history = []
    for t, vector in enumerate(_steps(6, seed=7)):
        load_flat(model, vector)
        got = teacher.teacher(model, {"x": x})
        past = history[-k:] if k else history
        probe = Toy()
        if not past:
            want = load_flat(probe, vector)(x).logits
        elif kind == "sda":
            want = load_flat(probe, torch.stack(past).mean(0))(x).logits
        else:
            want = torch.stack([load_flat(probe, v)(x).logits for v in past]).mean(0)
        assert torch.allclose(got, want, atol=1e-5), t
        history.append(vector)
    assert not any(p.requires_grad for p in teacher.model.parameters()) and not teacher.model.training


def test_sdv_needs_a_window():
    with pytest.raises(ValueError, match="teacher_k"):
        SelfDistillTeacher("sdv", None)
    with pytest.raises(ValueError, match="valid: sda, sdv"):
        SelfDistillTeacher("ema", 2)


def test_sd_objective_is_ce_plus_lambda_mse():
    from trainers.objectives import compute_loss, get_objective
    logits = torch.tensor([[1.0, -1.0], [0.5, 0.0]])
    teacher = torch.tensor([[0.0, 0.0], [1.5, 2.0]])
    labels = torch.tensor([0, 1])
    ce = torch.nn.functional.cross_entropy(logits, labels)
    mse = ((1 + 1 + 1 + 4) / 4)  # torch's mean over batch x classes
    assert compute_loss("sd", logits, labels, {"lambda": 2.0}, teacher).item() == pytest.approx(ce.item() + 2 * mse)
    total, parts = get_objective("sd").loss_parts(logits, labels, {"lambda": 2.0}, teacher)
    assert parts["mse"].item() == pytest.approx(mse) and parts["ce"].item() == pytest.approx(ce.item())
    assert total.item() == pytest.approx(ce.item() + 2 * mse)


TINY = dict(task="SST-2", model="all-MiniLM-L6-v2", num_layers=1, max_seq_len=32, batch_size=8, lr=1e-4, epochs=1,
            evaluations=2, train_examples=32, eval_examples=32)


def test_sda1_equals_sdv1_in_the_loop_and_se_is_scored():
    """The real trainer on real SST-2 rows: SDA(1) and SDV(1) are one teacher (same numbers and curves); a BASE
    run with ensemble_outputs scores SE and returns its final logits and weights."""
    from trainers.config import TrainConfig
    from trainers.loop import train
    tiny = TrainConfig(**TINY)
    cfg = dataclasses.replace(tiny, objective="sd", teacher_k=1, head_lr=1e-3)
    sda = train(dataclasses.replace(cfg, self_teacher="sda"))
    sdv = train(dataclasses.replace(cfg, self_teacher="sdv"))
    assert sda["metrics"]["test_last"] == sdv["metrics"]["test_last"]
    assert sda["curves"]["train_mse"] == sdv["curves"]["train_mse"] and len(sda["curves"]["train_mse"]) == \
        sda["metrics"]["steps"]
    assert [round(c + 1.0 * m, 5) for (_, c), (_, m) in zip(sda["curves"]["train_ce"], sda["curves"]["train_mse"])] \
        == [round(v, 5) for _, v in sda["curves"]["train_loss"]]
    base = train(dataclasses.replace(tiny, ensemble_outputs=True))
    assert {"se_val", "se_test"} <= set(base["metrics"])
    out = base["outputs"]
    assert out["test_logits"].shape == (32, 2) and out["val_logits"].shape == (32, 2)
    from trainers.model import build_model
    assert set(out["state"]) == set(build_model(tiny.model, 2, 0, tiny.num_layers).state_dict())


def test_paper_profile_plans_every_run_and_cpu_uses_the_stand_ins():
    """Table 3 over 7 datasets (20 BASE seeds for 5 VOTE/AVG groups; SDV K 1-5 and SDA K T-1, 2-5 at 5 seeds),
    Figure 3 (4 lines x 9 lambdas x 3 seeds), Figure 4 (4 arms x 10 data orders at init seed 1), Table 4."""
    from pipelines.config import load
    from pipelines.plan import describe, make_plan
    config = load()
    plan = make_plan(config, "selfdistill", "paper")
    count = {name: len(members) for name, members in plan.experiments.items()}
    assert count == {"ensembles": 7 * 20, "self_distill": 7 * 11 * 5, "lambda": 9 * 3, "lambda_lines": 3 * 9 * 3,
                     "stability": 4 * 10, "large": 3 * 3 * 5}
    # shared trials run once: self_distill's BASE seeds 1-5 are ensembles', and Figure 3's lambda 1 points (4 lines
    # x 3 seeds) are self_distill's SDA(T-1), SDV(1), SDV(5) and SDA(5) on IMDb
    assert len(plan.specs) == 140 + 7 * 10 * 5 + (27 - 3) + (81 - 9) + 40 + 45 == 671
    stability = [plan.specs[i].config for i in plan.ids("stability")]
    assert {c.init_seed for c in stability} == {1} and len({c.data_seed for c in stability}) == 10
    assert {c.train_examples for c in stability} == {1500}
    sdv5 = next(plan.specs[m.trial_id].config for m in plan.experiments["self_distill"]
                if m.arm == "sdv" and dict(m.values)["teacher_k"] == 5)
    assert (sdv5.objective, sdv5.objective_args, sdv5.self_teacher, sdv5.head_lr, sdv5.max_seq_len) == \
        ("sd", (("lambda", 1.0),), "sdv", 1e-3, 512)
    _, totals = describe(plan, config.profile("paper", "selfdistill")[1])
    assert totals.unique == len(plan.specs) and totals.runnable == 0 and totals.unit == "GPU-hours"
    assert 8000 < totals.hours < 8800  # BERT-base at length 512, 6 epochs over the full sets; SDV(K) K forwards a step
    cpu = make_plan(config, "selfdistill", "cpu")
    assert {plan.specs[i].config.task for i in plan.ids("self_distill")} >= {"IMDb", "AG", "SNLI", "MNLI"}
    assert {cpu.specs[i].config.task for i in cpu.ids("self_distill")} == {"IMDb-proxy", "AG-proxy", "QNLI-proxy"}
    assert "lambda_lines" in cpu.skipped and "large" in cpu.skipped
