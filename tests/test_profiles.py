"""The `signal` and `gpu` profiles load and plan: trial counts of bias_correction + reinit, and their cost units."""
from pipelines.config import load
from pipelines.plan import describe, make_plan, trial_hours


def _count(plan, name):
    return len(plan.experiments.get(name, [])) + len(plan.estimates.get(name, []))


def test_signal_profile_plans_within_three_hours_on_two_cores():
    config = load()
    _, profile = config.profile("signal", "revisiting")
    plan = make_plan(config, "revisiting", "signal", ["bias_correction", "reinit"])
    tasks = 2  # STS-B, CoLA
    assert _count(plan, "bias_correction") == tasks * 2 * 4  # adamw, bertadam x 4 seeds
    assert _count(plan, "reinit") == tasks * (1 + 1 + 2) * 4  # standard, pooler, Re-init 1 and 3 x 4 seeds
    assert len(plan.specs) == tasks * (2 * 4 + 4 * 4 - 4) == 40  # Standard seeds 1..4 are debiased Adam's 1..4
    cfg = next(iter(plan.specs.values())).config
    assert (cfg.model, cfg.num_layers, cfg.train_examples, cfg.max_seq_len, cfg.eval_examples, cfg.lr) == \
        ("all-MiniLM-L6-v2", None, 2000, 128, None, 5e-5)
    cpu_hours = sum(trial_hours(s.config, profile) for s in plan.unique())
    assert cpu_hours / 2 <= 3.0  # 2 trials at a time on 2 cores
    text, totals = describe(plan, profile)
    assert totals.unit == "CPU-hours" and totals.unique == len(plan.specs)


def test_signal_profile_plans_every_experiment_a_claim_reads_and_skips_the_rest():
    """Issue 28: the claims' experiments run (a Re-init grid of two depths, Longer, the Sec. 7 methods); the
    experiments that only feed figures say why they are skipped."""
    plan = make_plan(load(), "revisiting", "signal")
    assert {"bias_correction", "reinit", "methods"} <= set(plan.experiments)
    assert {"longer_search", "longer"} <= set(plan.pending)
    assert sorted({s.config.reinit_layers for s in plan.unique() if s.config.reinit_layers}) == [1, 3]
    assert set(plan.skipped) == {"reinit_1k", "parameter_change", "longer_search_1k", "longer_1k",
                                 "methods_searched", "controlled_seeds", "precision", "other_models"}
    assert plan.skipped["reinit_1k"].startswith("no claim reads it")


def test_gpu_profile_plans_the_papers_seeds_in_gpu_hours():
    config = load()
    _, profile = config.profile("gpu", "revisiting")
    plan = make_plan(config, "revisiting", "gpu", ["bias_correction", "reinit"])
    assert _count(plan, "bias_correction") == 4 * 2 * 50
    assert _count(plan, "reinit") == 4 * (1 + 1 + 6) * 20  # Re-init L = 1..6: every block of MiniLM-L6
    assert len(plan.specs) == 400 + 640 - 4 * 20
    cfg = next(iter(plan.specs.values())).config
    assert (cfg.model, cfg.num_layers, cfg.train_examples, cfg.max_seq_len, cfg.batch_size) == \
        ("all-MiniLM-L6-v2", None, None, 128, 32)
    _, totals = describe(plan, profile)
    assert totals.unit == "GPU-hours" and 0 < totals.hours < 10
    full = make_plan(config, "revisiting", "gpu")  # every experiment plans; Re-init never exceeds 6 blocks
    assert max(s.config.reinit_layers for s in full.unique() if s.config.model == "all-MiniLM-L6-v2") == 6
    assert "other_models" in full.skipped
