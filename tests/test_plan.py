"""Planning: deterministic trial ids, shared trials, and the paper profile's counts (Sec. 4-5)."""
from pipelines.cli import main
from pipelines.config import load
from pipelines.plan import make_plan, trial_id, trial_seconds


def test_paper_profile_counts_match_the_paper():
    plan = make_plan(load(), "revisiting", "paper")
    assert len(plan.experiments["bias_correction"]) == 4 * 2 * 50  # Figure 2: 4 tasks x 2 optimizers x 50 seeds
    assert len(plan.experiments["reinit"]) == 4 * 8 * 20  # Table 1 / Fig. 5: standard, pooler, L=1..6; 20 seeds
    assert len(plan.specs) == 400 + 640 - 4 * 20  # Standard seeds 1..20 are shared, run once
    spec = plan.specs[plan.experiments["reinit"][0]]
    cfg = spec.config
    assert (cfg.model, cfg.batch_size, cfg.lr, cfg.epochs, cfg.warmup_ratio, cfg.max_grad_norm, cfg.evaluations) == \
        ("bert-large-uncased", 32, 2e-5, 3.0, 0.1, 1.0, 10)


def test_trial_ids_are_deterministic_and_depend_on_config():
    a = make_plan(load(), "revisiting", "cpu")
    b = make_plan(load(), "revisiting", "cpu")
    assert list(a.specs) == list(b.specs)
    specs = a.unique()
    assert len({s.trial_id for s in specs}) == len(specs)
    assert trial_id(specs[0].config) == specs[0].trial_id


def test_experiment_subset_and_cost():
    plan = make_plan(load(), "revisiting", "paper", ["bias_correction"])
    assert list(plan.experiments) == ["bias_correction"]
    rte = next(s for s in plan.unique() if s.config.task == "RTE")
    # RTE: 2490 examples / 32 = 78 steps x 3 epochs = 234 steps (Fig. 3 shows ~230).
    assert trial_seconds(rte.config, {"seconds_per_step": 1.0, "seconds_per_eval_example": 0.0}) == 234


def test_plan_command_prints_counts(capsys):
    assert main(["plan", "revisiting", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "bias_correction          400" in out and "reinit                   640" in out
    assert "unique trials            960" in out
