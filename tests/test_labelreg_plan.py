"""The label-regularization paper's plan: every run the paper made at the paper profile (students, teachers,
their trial dependencies), and what the offline machine can and cannot run, with reasons."""
import dataclasses
from collections import Counter

from pipelines.config import load
from pipelines.plan import describe, make_plan, model_cost, trial_hours


def test_paper_profile_plans_every_student_and_teacher_run():
    config = load()
    plan = make_plan(config, "labelreg", "paper")
    count = {name: len(members) for name, members in plan.experiments.items()}
    assert count == {"teachers": 8, "teachers_bert": 7, "teachers_gpt2": 7, "teachers_fewrel": 5,
                     "glue": 7 * 5 * 5, "glue_bert": 7 * 5 * 5, "glue_gpt2": 7 * 5 * 5,  # Tables 1-3: 525 runs
                     "sst5": 4 * 8, "fewrel": 4 * 5, "glue_random": 7 * 5 * 5, "sst5_random": 3 * 8}
    assert len(plan.specs) == 27 + 525 + 32 + 20 + 175 + 24  # 27 teachers (21 GLUE, SST-5, 5 FewRel)
    specs = plan.unique()
    taught = Counter(s.config.objective for s in specs if s.config.teacher)
    assert taught == {"kd": 3 * 35 + 8 + 5 + 35 + 8, "selfkd": 3 * 35 + 35}
    by_id = plan.specs
    for s in specs:  # KD reads a teacher of the same task; FewRel's teacher is the same seed's
        if s.config.objective == "kd":
            teacher = by_id[s.config.teacher].config
            assert teacher.task == s.config.task and teacher.objective == "ce" and not teacher.random_init
            assert teacher.init_seed == (s.config.init_seed if s.config.task == "FewRel" else 42)
        if s.config.objective == "selfkd":  # the same seed's Finetune (Base for random-init students)
            teacher = by_id[s.config.teacher].config
            assert (teacher.init_seed, teacher.model, teacher.random_init) == \
                (s.config.init_seed, s.config.model, s.config.random_init)
    # Appendix D's search: 20 sampled points per GLUE task, left to `make search` (planned, not reproduced), and
    # the Table 1 rerun at its choice, pending until the search has chosen
    assert "make search PAPER=labelreg EXPERIMENT=search_kd" in plan.skipped["search_kd"]
    assert len(plan.estimates["search_kd"]) == 20 * 7 and "search_kd" in plan.pending["glue_searched"]
    assert len({s.trial_id for s in plan.estimates["glue_searched"]}) == 7 * 5 * 5
    _, totals = describe(plan, config.profile("paper", "labelreg")[1])
    assert totals.unique == len(plan.specs) + 140 + 175 and totals.runnable == 0 and totals.unit == "GPU-hours"


def test_each_model_is_costed_at_its_own_step_time():
    config = load()
    _, profile = config.profile("paper", "labelreg")
    plan = make_plan(config, "labelreg", "paper")
    teacher = next(plan.specs[i].config for i in plan.ids("teachers"))
    student = next(plan.specs[i].config for i in plan.ids("glue"))
    assert (teacher.model, student.model) == ("roberta-large", "distilroberta-base")
    assert model_cost(teacher, profile) == profile["cost"]  # no role cost: the profile's (BERT-large-class)
    assert model_cost(student, profile)["seconds_per_step"] == 0.065
    ratio = trial_hours(teacher, profile) / trial_hours(dataclasses.replace(teacher, model=student.model), profile)
    assert ratio > 5  # the same trial on the 6-block student is costed far below the 24-block teacher


def test_paper_profile_protocol_comes_from_the_paper():
    config = load()
    plan = make_plan(config, "labelreg", "paper")
    glue = [plan.specs[m.trial_id].config for m in plan.experiments["glue"]]
    assert {(c.lr, c.batch_size, c.epochs, c.warmup_ratio, c.adam_epsilon) for c in glue} == {(2e-5, 32, 30.0, 0.0,
                                                                                              1e-8)}
    assert {c.model for c in glue} == {"distilroberta-base"}
    gpt2 = {plan.specs[m.trial_id].config.task: plan.specs[m.trial_id].config for m in plan.experiments["glue_gpt2"]}
    assert (gpt2["CoLA"].lr, gpt2["RTE"].lr, gpt2["CoLA"].batch_size) == (1e-5, 2e-5, 16)  # Table 11
    fewrel = [plan.specs[m.trial_id].config for m in plan.experiments["fewrel"]]
    assert {round(c.lr, 12) for c in fewrel} == {1.5e-5}  # Table 12, as 0.75 x the paper's 2e-5
    assert {c.init_seed for c in fewrel} == {42, 549, 1237, 230, 805}
    sst2 = next(plan.specs[m.trial_id].config for m in plan.experiments["glue"] if m.task == "SST-2")
    assert sst2.dev_halves and sst2.train_examples is None  # the whole train file, dev halved into val and test


def test_cpu_profile_runs_the_pilots_sizes_and_table8_core_at_eight_seeds():
    config = load()
    _, profile = config.profile("cpu", "labelreg")
    plan = make_plan(config, "labelreg", "cpu")
    configs = {name: [plan.specs[i].config for i in plan.ids(name)] for name in plan.experiments}
    assert {(c.task, c.train_examples) for cs in configs.values() for c in cs} == {
        ("SST-2", 500), ("SST-5", 800), ("FewRel", 320)}  # task_train_examples: the pilot's sizes per task
    assert {c.model for c in configs["sst5"]} == {"paraphrase-MiniLM-L3-v2"}
    assert {(c.model, c.num_layers) for c in configs["teachers"]} == {("all-MiniLM-L6-v2", None)}
    for name in ("sst5", "sst5_random"):  # Table 8's core: 8 paired seeds, pre-trained and from scratch
        assert {c.init_seed for c in configs[name]} == {42, 549, 1237, 230, 805, 4653, 5589, 992}
    assert all(c.random_init for c in configs["sst5_random"]) and not any(c.random_init for c in configs["sst5"])
    names = {plan.specs[i].name for i in plan.ids("glue_random")}  # told apart from the pre-trained arms in MLflow
    assert "SST-2 s42 tfreg random-init" in names and not names & {plan.specs[i].name for i in plan.ids("glue")}
    text, totals = describe(plan, profile)
    # the search-fed rerun is costed but waits for `make search`: reproduce runs 103 trials
    assert totals.runnable == 103 and "waits for `make search PAPER=labelreg EXPERIMENT=search_kd`" in text
    assert "paraphrase-MiniLM-L3-v2: 0.24 s/step" in text
