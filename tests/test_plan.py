"""Planning: deterministic trial ids, shared trials, stages, and the paper profile's counts (Sec. 4-7, App. B-F)."""
from pipelines.cli import main
from pipelines.config import load
from pipelines.plan import make_plan, stand_in_choices, trial_id, trial_seconds
from trainers.config import TrainConfig


def _count(plan, name):
    return len(plan.experiments.get(name, [])) + len(plan.estimates.get(name, []))


def test_paper_profile_counts_match_the_paper():
    plan = make_plan(load(), "revisiting", "paper")
    expected = {
        "bias_correction": 4 * 2 * 50,  # Figure 2: 4 tasks x 2 optimizers x 50 seeds
        "reinit": 4 * (1 + 1 + 6) * 20,  # Table 1 / Fig. 5: standard, pooler, L = 1..6; 20 seeds
        "reinit_1k": 8 * 8 * 20,  # the eight 1k-downsampled datasets
        "parameter_change": 4 * 5 * 20,  # Fig. 7: standard, Re-init 1, 3, 6, 10
        "methods": 4 * (1 + 1 + 3 * 2 + 5 + 4 + 4) * 20,  # Appendix H grids, 20 seeds each
        "controlled_seeds": 2 * 10 * 10,  # Appendix B: 10 x 10 seed grid, standard and Re-init 5
        "precision": 4 * 2 * 20,  # Table 4
        "mnli_full": 2 * 3,  # Table 5: three runs each
        "other_models": 4 * 4 * (1 + 6) * 20,  # Table 7: 4 models x 4 tasks, L = 1..6 by validation
        # Sec. 6: 8 seeds; candidates 3 epochs + {200..3200} minus those below the 3-epoch step count:
        # RTE 234 and MRPC 345 steps keep 5, STS-B 540 keeps 4, CoLA 802 keeps 3.
        "longer_search": 2 * (5 + 5 + 4 + 3) * 8,
        "longer_search_1k": 8 * 2 * 6 * 8,  # 1k: 3 epochs = 96 steps, all six candidates
        "longer": 4 * 2 * 20,
        "longer_1k": 8 * 2 * 20,
        "methods_searched": 4 * 4 * 20,  # Table 2's four searched methods at the search's choice, 20 seeds
    }
    assert {name: _count(plan, name) for name in expected} == expected
    assert set(plan.pending) == {"longer_search", "longer_search_1k", "longer", "longer_1k", "methods_searched"}
    assert plan.stages["methods_searched"] == 0  # a search result is made outside the study: no stage
    assert plan.stages["longer"] == 2 and plan.stages["longer_search"] == 1 and plan.stages["reinit"] == 0
    cfg = plan.specs[plan.experiments["reinit"][0].trial_id].config
    assert (cfg.model, cfg.batch_size, cfg.lr, cfg.epochs, cfg.warmup_ratio, cfg.max_grad_norm, cfg.evaluations) == \
        ("bert-large-uncased", 32, 2e-5, 3.0, 0.1, 1.0, 10)


def test_shared_trials_run_once():
    plan = make_plan(load(), "revisiting", "paper", ["bias_correction", "reinit"])
    assert len(plan.specs) == 400 + 640 - 4 * 20  # Standard seeds 1..20 are Figure 2's debiased Adam seeds 1..20


def test_grids_recipes_and_controlled_seeds():
    plan = make_plan(load(), "revisiting", "paper")
    llrd = {(m.settings["lr_scale"], m.settings["llrd"]) for m in plan.experiments["methods"] if m.arm == "llrd"}
    assert llrd == {(s, d) for s in (1, 2.5, 5) for d in (0.9, 0.95)}
    lrs = {round(plan.specs[m.trial_id].config.lr, 12) for m in plan.experiments["methods"] if m.arm == "llrd"}
    assert lrs == {2e-5, 5e-5, 1e-4}  # Appendix H's learning rates
    pairs = {(m.init_seed, m.data_seed) for m in plan.experiments["controlled_seeds"]}
    assert len(pairs) == 100
    xlnet = next(s.config for s in plan.unique() if s.config.model == "xlnet-large-cased"
                 and s.config.task == "CoLA")
    assert (xlnet.lr, xlnet.max_steps, xlnet.batch_size, xlnet.warmup_steps) == (3e-5, 1200, 128, 120)  # Table 6


def test_later_stage_is_planned_from_choices():
    config = load()
    stand_in = stand_in_choices(config, "revisiting", config.profile("cpu", "revisiting")[1])
    choices = {k: v for k, v in stand_in.items() if k[0] == "reinit"}
    choices[("reinit", "RTE", "reinit")] = {"reinit": 2}
    plan = make_plan(config, "revisiting", "cpu", ["longer_search"], choices)
    members = [m for m in plan.experiments["longer_search"] if m.task == "RTE" and m.arm == "reinit"]
    assert {m.settings["reinit"] for m in members} == {2}
    assert {m.settings["max_steps"] for m in members} == {None, 96}
    assert "longer_search" not in plan.pending


def test_trial_ids_are_deterministic_and_ignore_default_fields():
    a = make_plan(load(), "revisiting", "cpu")
    b = make_plan(load(), "revisiting", "cpu")
    assert list(a.specs) == list(b.specs)
    specs = a.unique()
    assert len({s.trial_id for s in specs}) == len(specs)
    assert trial_id(specs[0].config) == specs[0].trial_id
    # A field at its default does not enter the id: new methods leave old trial ids (and runs) valid.
    base = TrainConfig(task="RTE", model="m")
    assert base.fingerprint() == TrainConfig(task="RTE", model="m", mixout=0.0).fingerprint()
    assert base.fingerprint() != TrainConfig(task="RTE", model="m", mixout=0.1).fingerprint()
    # Pinned: run names and tags never enter the id, so finished runs stay valid when names change.
    assert trial_id(TrainConfig(task="RTE", model="m", init_seed=3, data_seed=3)) == "bf2e137a3d0f2b1f"


def test_run_names_are_short_seed_first_and_unique():
    plan = make_plan(load(), "revisiting", "paper")
    specs = plan.unique() + [s for estimate in plan.estimates.values() for s in estimate]
    ids_by_name: dict[str, set] = {}
    for spec in specs:
        ids_by_name.setdefault(spec.name, set()).add(spec.trial_id)
    assert all(len(ids) == 1 for ids in ids_by_name.values()), "two trials share a run name"
    assert max(len(name) for name in ids_by_name) <= 40
    names = {(m.task, m.arm, m.init_seed, m.data_seed, m.values): plan.specs[m.trial_id].name
             for e in ("reinit", "reinit_1k", "controlled_seeds", "methods") for m in plan.experiments[e]}
    assert names[("RTE", "reinit", 3, 3, (("reinit", 2),))] == "RTE s3 reinit-2"
    assert names[("RTE", "pooler", 3, 3, (("reinit", "pooler"),))] == "RTE s3 reinit-pooler"
    assert names[("STS-B (1k)", "reinit", 1, 1, (("train_examples", 1000), ("reinit", 4)))] == "STS-B-1k s1 reinit-4"
    assert names[("RTE", "reinit", 2, 7, (("reinit", 5),))] == "RTE i2 d7 reinit-5"
    assert names[("MRPC", "llrd", 4, 4, (("lr_scale", 2.5), ("llrd", 0.9)))] == "MRPC s4 lr_scale=2.5 llrd=0.9"
    for spec in specs:  # the task and its seeds lead every name
        assert spec.name.split()[1] in (f"s{spec.config.init_seed}", f"i{spec.config.init_seed}"), spec.name


def test_experiment_subset_adds_its_sources_and_costs():
    plan = make_plan(load(), "revisiting", "paper", ["longer"])
    assert set(plan.stages) == {"reinit", "longer_search", "longer"}
    rte = next(s for s in plan.unique() if s.config.task == "RTE")
    # RTE: 2490 examples / 32 = 78 steps x 3 epochs = 234 steps (Fig. 3 shows ~230).
    assert trial_seconds(rte.config, {"seconds_per_step": 1.0, "seconds_per_eval_example": 0.0}) == 234


def test_plan_command_prints_counts_and_status(capsys):
    assert main(["plan", "revisiting", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "bias_correction          0     400" in out and "reinit                   0     640" in out
    assert "longer                   2     160" in out and "pending (RTE, MRPC, STS-B, CoLA: planned from" in out
    assert main(["plan", "revisiting", "--profile", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "precision                0      24" in out and "not run at this profile: mixed precision" in out


def test_every_setting_suite_yaml_uses_reaches_the_trial_through_its_declaration():
    """Each declared arm setting (trainers.settings) that suite.yaml sets changes the trial's TrainConfig with some
    value it uses (none is validated, then dropped), and a single-task-only setting does so in the fields the
    multitask trainer refuses, so the config check's list and the trainer's cannot disagree."""
    from trainers import settings
    from trainers.multitask.train import SINGLE_TASK_ONLY
    used: dict[str, list] = {}  # setting -> [(value, a task it trains, the paper's recipes)]
    for paper in load().data["papers"].values():
        for exp in paper["experiments"].values():
            for arm in [exp.get("settings") or {}, *exp["arms"].values()]:
                for key, value in arm.items():
                    used.setdefault(key, []).extend((v, exp["tasks"][-1], paper.get("recipes") or {})
                                                    for v in (value if isinstance(value, list) else [value])
                                                    if not isinstance(v, dict))
    roles = {"teacher": {"model": "big", "num_layers": None}}
    unreached = []
    for name, declared in settings.SETTINGS.items():
        if declared.reach is None or name not in used:
            continue
        changed = set()
        for value, task, recipes in used[name]:
            base = TrainConfig(task=task, model="m")
            fields = settings.reach(base.to_dict(), {name: value}, settings.Trial(task, roles, recipes))
            changed |= {field for field, new in fields.items() if new != getattr(base, field)}
        if not changed:
            unreached.append(name)
        if declared.kinds == (settings.SINGLE_TASK,):
            assert changed & set(SINGLE_TASK_ONLY), name
    assert not unreached
    assert set(settings.only(settings.SINGLE_TASK)) <= set(used)  # the loop above checked every one
