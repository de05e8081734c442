"""Trial dependencies (Kobyzev et al.'s teachers): planning resolves each student's teacher trial into its config,
the teacher's train-set logits travel as an MLflow artifact between processes, and a study runs teachers before
the trials they teach (labelreg's smoke study). A toy paper (RTE at the smoke scale) keeps the rest generic and
quick; its own report (reports/toy, reports/published/toy.yaml: the template of a new paper's) is built by the report
stage from its study's MLflow store, and from stores written by hand in the fast tier."""
import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from helpers import study_config
from pipelines.config import ConfigError, load
from pipelines.plan import make_plan
from trainers.tasks import load_splits

TOY = {
    "title": "toy distillation paper", "source": "papers/none.txt", "report": "toy",
    "defaults": {"lr": 1.0e-4, "batch_size": 8, "epochs": 1, "warmup_ratio": 0.1, "max_grad_norm": 1.0,
                 "weight_decay": 0.0, "adam_epsilon": 1.0e-6, "evaluations": 2},
    "seeds": {"five": [42, 549, 1237, 230, 805], "one": [42]},
    "experiments": {
        "teachers": {"about": "teacher per task", "covers": [], "tasks": ["RTE"], "seeds": "one",
                     "settings": {"model": "teacher"}, "arms": {"teacher": {}}},
        "students": {"about": "arms", "covers": [], "tasks": ["RTE"], "seeds": "five", "arms": {
            "finetune": {},
            "ls": {"objective": "ls", "alpha": 0.1},
            "selfkd": {"objective": "selfkd", "alpha": 0.5, "teacher": {"arm": "finetune"}},
            "kd": {"objective": "kd", "alpha": 0.5, "teacher": {"experiment": "teachers"}},
            "kd_random": {"objective": "kd", "alpha": 0.5, "random_init": True,
                          "teacher": {"experiment": "teachers"}}}},
    },
}
MODELS = {"teacher": {"model": "all-MiniLM-L6-v2", "num_layers": 2}, "student": {"model": "all-MiniLM-L6-v2"}}


def toy_config(tmp_path, change=None, seeds=2):
    def mutate(data):
        data["papers"]["toy"] = copy.deepcopy(TOY)
        if change:
            change(data["papers"]["toy"])
        data["profiles"]["smoke"]["papers"]["toy"] = {"seeds": {"five": seeds}, "models": MODELS}
        for name, profile in data["profiles"].items():
            if name != "smoke":
                profile.setdefault("papers", {})["toy"] = {"models": MODELS}
    return study_config(tmp_path, mutate)


def test_students_carry_their_teachers_trial_id(tmp_path):
    plan = make_plan(load(toy_config(tmp_path)), "toy", "smoke")
    members = {(m.arm, m.init_seed): plan.specs[m.trial_id] for m in plan.experiments["students"]}
    teacher = plan.specs[plan.ids("teachers")[0]]
    assert (teacher.config.num_layers, teacher.config.init_seed) == (2, 42)
    for seed in (42, 549):
        assert members[("kd", seed)].config.teacher == teacher.trial_id  # one teacher per task
        assert members[("selfkd", seed)].config.teacher == members[("finetune", seed)].trial_id  # same seed
        assert members[("kd", seed)].config.objective_args == (("alpha", 0.5),)
        assert members[("kd_random", seed)].config.random_init
    assert members[("finetune", 42)].config.teacher is None and members[("ls", 42)].config.objective == "ls"
    assert len(plan.specs) == 1 + 5 * 2


@pytest.mark.parametrize("change,message", [
    (lambda t: t["experiments"]["students"]["arms"]["kd"].pop("teacher"),
     "arms.kd: objective 'kd' needs a teacher: {experiment: NAME, arm: ARM} or self_teacher: sda | sdv"),
    (lambda t: t["experiments"]["students"]["arms"]["ls"].update(teacher={"arm": "finetune"}),
     "arms.ls: objective 'ls' reads no teacher; remove `teacher`"),
    (lambda t: t["experiments"]["students"]["arms"]["kd"].update(teacher={"experiment": "teachers", "arm": "x"}),
     "arms.kd.teacher: experiment 'teachers' has no arm 'x' (valid: teacher)"),
    (lambda t: t["experiments"]["students"]["arms"]["kd"].update(teacher={"experiment": "students"}),
     "arms.kd.teacher: name the teacher's arm of 'students' (valid: finetune, ls, selfkd, kd, kd_random)"),
    (lambda t: t["experiments"]["students"]["arms"]["kd"].update(teacher={"experiment": "teachers", "members": 1}),
     "arms.kd.teacher.members: an ensemble teacher's size, an integer >= 2, got 1"),
    (lambda t: t["experiments"]["students"]["arms"]["kd"].update(teacher={"experiment": "teachers", "size": 2}),
     "arms.kd.teacher: unknown key 'size' (valid: arm, experiment, members)"),
    (lambda t: t["experiments"]["students"]["arms"]["ls"].update(alpha=1.5),
     "arms.ls.alpha: bad value 1.5 (expected a value one of the objectives accepts)"),
    (lambda t: t["experiments"]["students"]["arms"]["ls"].update(temperature=2.0),
     "arms.ls: objective 'ls' has no setting 'temperature' (valid: alpha)"),
])
def test_bad_teacher_and_objective_settings_are_one_line_errors(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        load(toy_config(tmp_path, change))
    assert str(err.value).endswith(message) and "\n" not in str(err.value)


def test_an_ensemble_teacher_is_its_first_seeds_trials(tmp_path):
    def ensemble(members):
        def change(toy):
            toy["experiments"]["students"]["arms"]["kd"]["teacher"] = {"arm": "finetune", "members": members}
        return change
    plan = make_plan(load(toy_config(tmp_path, ensemble(2), seeds=3)), "toy", "smoke")
    members = {(m.arm, m.init_seed): m.trial_id for m in plan.experiments["students"]}
    ensemble_ids = f"{members[('finetune', 42)]}+{members[('finetune', 549)]}"  # seeds 42 and 549, not 1237
    for seed in (42, 549, 1237):  # every student seed reads the same ensemble
        assert plan.specs[members[("kd", seed)]].config.teacher == ensemble_ids
        assert plan.specs[members[("kd", seed)]].config.teachers == tuple(ensemble_ids.split("+"))
    with pytest.raises(ConfigError, match="teacher students.finetune on RTE: an ensemble of 4 needs as many seeds; "
                                          "it has 3 at this profile"):
        make_plan(load(toy_config(tmp_path, ensemble(4), seeds=3)), "toy", "smoke")


def test_a_teacher_with_several_seeds_must_have_the_students_seed(tmp_path):
    def two_teachers(toy):
        toy["experiments"]["teachers"]["seeds"] = 2  # seeds 1 and 2, never the students' 42
        return toy
    with pytest.raises(ConfigError, match="teacher teachers.teacher on RTE: it has no trial of seed 42 "
                                          r"\(its seeds: 1, 2\)"):
        make_plan(load(toy_config(tmp_path, two_teachers)), "toy", "smoke")


def test_a_missing_model_role_is_named(tmp_path):
    def mutate(data):
        data["papers"]["toy"] = TOY
        data["profiles"]["smoke"]["papers"]["toy"] = {"models": {"student": MODELS["student"]}}
    with pytest.raises(ConfigError, match=r"profiles.cpu.papers.toy.models: no model for role 'teacher' "
                                          r"\(experiment teachers trains it; given: none\)|profiles.smoke.papers.toy."
                                          r"models: no model for role 'teacher'"):
        load(study_config(tmp_path, mutate))


def toy_report(config) -> tuple[str, dict]:
    """The toy paper's own report (reports/toy) at the smoke profile, built by the report stage as `suite report`
    builds it: report.md and summary.json; its tables' LaTeX and report.tex checked written beside them."""
    from pipelines.selection import resolved_plan
    from reports.build import build_report
    path = build_report(config, resolved_plan(config, "toy", "smoke", None))
    assert sorted(p.name for p in (path.parent / "tables").iterdir()) == ["claims.tex", "table1.tex"]
    tex = (path.parent / "report.tex").read_text(encoding="utf-8")
    assert "\\input{tables/table1.tex}" in tex and "\\input{tables/claims.tex}" in tex
    return path.read_text(encoding="utf-8"), json.loads((path.parent / "summary.json").read_text(encoding="utf-8"))


def claim_rows(report: str) -> dict[str, list[str]]:
    """The claims table's rows by claim id: [statement, verdict, effect, pairs, p (Holm), power, why]."""
    rows = [line.strip("| ").split(" | ") for line in report.splitlines() if line.startswith("| ")]
    return {row[0]: row[1:] for row in rows if row[0] in ("kd_beats_finetune", "ls_beats_finetune")}


def write_store(config, plan, correct: dict, failed: dict) -> None:
    """The MLflow store a study of the toy leaves, each run written by pipelines.tracking as a trial writes it, with
    no Ray and no training: ``correct`` {(arm, seed): correct test examples of TEST_ROWS, at every evaluation};
    ``failed`` {(arm, seed): the error's last line}; any other trial has no run."""
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    uri = tracking.tracking_uri(config.runs_dir)
    tracking.seed_store(uri)
    client = MlflowClient(uri)
    experiment = tracking.ensure_experiment(client, tracking.experiment_name("toy", "smoke"),
                                            config.runs_dir / "mlartifacts")
    for m in [*plan.experiments["teachers"], *plan.experiments["students"]]:
        key, spec = (m.arm, m.init_seed), plan.specs[m.trial_id]
        if key in failed:
            run_id = tracking.start_run(client, experiment, spec.name, spec.tags(), {})
            tracking.fail_run(client, run_id, f"Traceback (most recent call last):\n{failed[key]}")
        elif key in correct:
            run_id = tracking.start_run(client, experiment, spec.name, spec.tags(), {})
            acc = correct[key] / TEST_ROWS
            tracking.finish_run(client, run_id, {
                "outcome": "finished", "curves": {"val_metric": [(4, acc), (8, acc)]},
                "metrics": {"best_val": acc, "test_at_best_val": acc, "val_last": acc, "test_last": acc,
                            "train_seconds": 3.6}})


TEST_ROWS = 32  # RTE's test split at the smoke profile (eval_examples)
FINETUNE = {42: 20, 549: 21, 1237: 19, 230: 22, 805: 20}  # correct test examples by seed


def test_the_toy_papers_report_reads_its_runs_from_mlflow(tmp_path, monkeypatch):
    """The toy's report (reports/toy) from a store written as its study writes one: Table 1 beside the published
    numbers, a failed arm and an arm not run yet named under it, and both claims decided by the engine: KD's gain
    of 2 examples on each of 5 seeds reproduced (p = 2^-5, alone in Holm's family), and LS's loss of one example on
    each seed refutes the exploratory LS claim."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = load(toy_config(tmp_path, seeds=5))
    plan = make_plan(config, "toy", "smoke")
    cfg = plan.specs[plan.ids("students")[0]].config
    assert len(load_splits("RTE", cfg.train_examples, cfg.eval_examples)["test"]) == TEST_ROWS
    correct = {("teacher", 42): 25, **{("finetune", s): n for s, n in FINETUNE.items()},
               **{("kd", s): n + 2 for s, n in FINETUNE.items()}, **{("ls", s): n - 1 for s, n in FINETUNE.items()}}
    write_store(config, plan, correct, {("selfkd", s): "ValueError: boom" for s in FINETUNE})
    report, summary = toy_report(config)
    assert "| Fine-tuning | 62.0 | 63.8 ± 3.6 (5) |" in report  # 100 * (20, 21, 19, 22, 20) / 32
    assert "| Label smoothing | 63.0 | 60.6 ± 3.6 (5) |" in report
    assert "| Self-KD | 63.5 | not run (a) |" in report
    assert "\n- (a) failed on every attempt: ValueError: boom" in report
    assert "| KD | 64.5 | 70.0 ± 3.6 (5) |" in report
    assert "| KD, random-init student | 55.0 | not run (b) |" in report
    assert "\n- (b) not run yet (rerun `make reproduce` to finish it)" in report
    claims = claim_rows(report)
    assert claims["kd_beats_finetune"][1:5] == ["reproduced", "RTE +6.25 [+6.25, +6.25]", "RTE 5", "0.0312 (0.0312)"]
    assert claims["kd_beats_finetune"][6] == "p 0.0312 (Holm-adjusted over 1 claim: 0.0312) over every task " \
                                             "(intersection-union)"
    assert claims["ls_beats_finetune"][0].endswith("[exploratory]")
    assert claims["ls_beats_finetune"][1:3] == ["not reproduced", "RTE -3.12 [-3.12, -3.12]"]
    assert claims["ls_beats_finetune"][6].startswith("the other way on RTE (p 0.0312)")
    assert summary["verdicts"] == {"reproduced": 1, "not reproduced": 1, "could not tell": 0, "not run": 0}
    assert (summary["planned"], summary["finished"], summary["not_run"]) == (
        26, 1 + 15, {"failed: ValueError: boom": 5, "not run yet (rerun `make reproduce`)": 5})


def failing_teacher(toy):
    """The toy with a teacher that fails on every attempt (three blocks to re-initialise in a two-block model), and
    two students: Finetune, which runs, and KD, its student, which cannot."""
    toy["experiments"]["teachers"]["arms"]["teacher"] = {"reinit": 3}
    arms = toy["experiments"]["students"]["arms"]
    toy["experiments"]["students"]["arms"] = {arm: arms[arm] for arm in ("finetune", "kd")}


def check_failed_teacher_report(config, finetune: float) -> None:
    """The toy's report after failing_teacher's study (seed 42): Finetune's score (``finetune``, x100) beside the
    paper's, why KD has none (its teacher's error), LS's row absent (the config declares no LS), no claim decided."""
    report, summary = toy_report(config)
    assert f"| Fine-tuning | 62.0 | {finetune:.1f} ± 0.0 (1) |" in report and "| Label smoothing |" not in report
    assert "| KD | 64.5 | not run (a) |" in report
    note = next(line for line in report.splitlines() if line.startswith("- (a) "))
    assert note.startswith("- (a) not run: its teacher RTE s42 teacher reinit-3 failed on every attempt: ") and \
        note.endswith("cannot re-initialise 3 blocks of a 2-block model"), note
    not_run = ["not run", "RTE –", "RTE 0", "–", "–", "no finished runs of the claim's arms"]
    assert [row[1:] for row in claim_rows(report).values()] == [not_run, not_run]
    assert (summary["planned"], summary["finished"], summary["verdicts"]["not run"]) == (3, 1, 2)


def test_the_toy_report_of_a_failed_teacher_from_a_store_written_by_hand(tmp_path, monkeypatch):
    """check_failed_teacher_report on the store the study test below leaves, written here without Ray: what that
    test asserts, checked in the fast tier."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = load(toy_config(tmp_path, failing_teacher, seeds=1))
    write_store(config, make_plan(config, "toy", "smoke"), {("finetune", 42): 21},
                {("teacher", 42): "ValueError: cannot re-initialise 3 blocks of a 2-block model"})
    check_failed_teacher_report(config, 100 * 21 / TEST_ROWS)


READER = """
import sys, numpy as np
from mlflow.tracking import MlflowClient
from pipelines import tracking
logits, digest = tracking.read_train_logits(MlflowClient(sys.argv[1]), sys.argv[2], sys.argv[3])
np.save(sys.argv[4], logits)
print(digest)
"""


def test_teacher_logits_round_trip_through_mlflow_to_another_process(tmp_path):
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from trainers.config import TrainConfig
    from trainers.loop import train
    cfg = TrainConfig(task="RTE", model="all-MiniLM-L6-v2", num_layers=1, max_seq_len=32, batch_size=8, lr=1e-4,
                      epochs=1, evaluations=2, train_examples=24, eval_examples=24, init_seed=42, data_seed=42)
    result = train(cfg, train_logits=True)
    logits = result["train_logits"]
    assert logits.shape == (24, 2) and np.isfinite(logits).all()
    uri = tracking.tracking_uri(tmp_path)
    client = MlflowClient(uri)
    experiment = tracking.ensure_experiment(client, "toy-smoke", tmp_path / "mlartifacts")
    run_id = tracking.start_run(client, experiment, "RTE s42 teacher", {"trial_id": cfg.fingerprint()}, {})
    tracking.log_train_logits(client, run_id, logits, result["labels_digest"])
    client.set_terminated(run_id, "FINISHED")
    assert tracking.teachers_ready(client, experiment) == {cfg.fingerprint()}
    out = subprocess.run([sys.executable, "-c", READER, uri, experiment, cfg.fingerprint(), str(tmp_path / "r.npy")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert np.array_equal(np.load(tmp_path / "r.npy"), logits)  # bit for bit
    assert out.stdout.strip() == result["labels_digest"]
    # the student reads them by example index; logits for another training split are refused
    student = TrainConfig(**{**cfg.to_dict(), "objective": "kd", "objective_args": (("alpha", 0.5),),
                             "teacher": cfg.fingerprint()})
    assert train(student, teacher_logits=logits, teacher_digest=result["labels_digest"])["outcome"] == "finished"
    with pytest.raises(ValueError, match="the teacher trained on other examples"):
        train(TrainConfig(**{**student.to_dict(), "train_examples": 16}), teacher_logits=logits)


@pytest.fixture(scope="module")
def one_ray():
    """The in-process studies below share one Ray instance, as `suite reproduce all` does (started by the first,
    shut down after the last), instead of starting and stopping Ray for each study and each search stage."""
    from pipelines.driver import shared_ray
    with shared_ray():
        yield


def test_a_study_runs_teachers_before_the_trials_they_teach(smoke_studies):
    """One command runs the teachers and Finetune, then the KD and Self-KD students that read their logits (Ray
    workers are other processes); every student finishes after its teacher and no teacher runs twice. The study is
    labelreg's smoke study (tests/conftest.py: RTE, SST-5 and FewRel teachers, each Finetune seed for Self-KD)."""
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from pipelines.availability import blocked
    from pipelines.selection import resolved_plan
    config, runs_dir, first = smoke_studies["labelreg"]
    plan = resolved_plan(load(config), "labelreg", "smoke", None)
    why = blocked(plan.unique())
    runnable = [s for s in plan.unique() if not why[s.trial_id]]
    assert f"labelreg: trials: {len(runnable)} ran, 0 reused, 0 failed" in first.stdout
    client = MlflowClient(f"sqlite:///{runs_dir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(tracking.experiment_name("labelreg", "smoke")).experiment_id
    runs = {r.data.tags["trial_id"]: r for r in tracking.all_runs(client, experiment)}
    assert len(runs) == len(runnable) and {r.info.status for r in runs.values()} == {"FINISHED"}  # none twice
    students = [s for s in runnable if s.config.teacher]
    teachers = {s.config.teacher for s in students}
    assert {s.config.objective for s in students} == {"kd", "selfkd"} and len(teachers) >= 4
    assert tracking.teachers_ready(client, experiment) == teachers  # only the trials that teach keep logits
    for student in students:
        run, teacher = runs[student.trial_id], runs[student.config.teacher]
        assert run.info.start_time >= teacher.info.end_time, student.name
        assert run.data.params["teacher"] == student.config.teacher


def test_a_student_whose_teacher_failed_is_not_run_and_the_report_says_why(tmp_path, monkeypatch, one_ray):
    """The toy paper through Ray Tune and MLflow with failing_teacher: Finetune runs, KD is not run, and the toy's
    own report (reports/toy, built by the report stage from the study's store) says so
    (check_failed_teacher_report)."""
    from pipelines import tracking
    from pipelines.driver import run_study
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = load(toy_config(tmp_path, failing_teacher, seeds=1))
    lines = []
    plan, outcome = run_study(config, "toy", "smoke", None, out=lines.append)
    assert (outcome.ran, len(outcome.failed)) == (2, 1)
    assert any("not run (1 trials): their teacher trial failed, e.g. RTE s42 kd" in line for line in lines), lines
    (finetune,) = tracking.load_runs(config, plan)["test_at_best_val"].astype(float)  # the one finished run
    check_failed_teacher_report(config, 100 * finetune)


def test_a_kd_search_trains_its_teacher_once_in_the_study_and_reads_its_logits(tmp_path, monkeypatch, one_ray):
    """Appendix D's search of KD (search-only: reproduce leaves it): `suite search` first trains the study's
    teacher with its logits, in the study's own MLflow experiment, then every search trial reads them; a second
    search trains no teacher again."""
    from mlflow.tracking import MlflowClient

    from pipelines import tracking
    from pipelines.search import run_search, search_plan, train_teachers
    from pipelines.selection import resolved_plan
    from reports import search as search_report

    def searched(toy):
        toy["experiments"]["search_kd"] = {
            "about": "KD's search", "covers": [], "tasks": ["RTE"], "seeds": "one",
            "arms": {"kd": {"objective": "kd", "teacher": {"experiment": "teachers"}, "alpha": [0.5, 0.9]}},
            "select": ["alpha"], "search": {"seeds": "one", "only": True, "grace_evaluations": 2, "top": 2,
                                            "confirm": "searched"}}
        toy["experiments"]["searched"] = {  # Appendix D: the top points re-run on every arm, the best average
            "about": "arms at the search's choice", "covers": [], "tasks": ["RTE"], "seeds": "one", "arms": {
                "finetune": {},
                "selfkd": {"objective": "selfkd", "alpha": {"searched": "search_kd", "arm": "kd"},
                           "teacher": {"arm": "finetune"}},
                "kd": {"objective": "kd", "alpha": {"searched": "search_kd", "arm": "kd"},
                       "teacher": {"experiment": "teachers"}}}}
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = load(toy_config(tmp_path, searched, seeds=1))
    plan = make_plan(config, "toy", "smoke")
    assert "make search PAPER=toy EXPERIMENT=search_kd" in plan.skipped["search_kd"]
    lines = []
    outcome = run_search(config, "toy", "smoke", "search_kd", out=lines.append)
    assert (outcome.trials, outcome.failed) == (2, []), lines
    assert any("1 teacher trial(s) of teachers train first" in line for line in lines), lines
    client = MlflowClient(tracking.tracking_uri(config.runs_dir))
    study = client.get_experiment_by_name(tracking.experiment_name("toy", "smoke")).experiment_id
    teacher = plan.specs[plan.ids("teachers")[0]].trial_id
    assert tracking.teachers_ready(client, study) == {teacher}
    search = list(tracking.all_runs(client, client.get_experiment_by_name(outcome.name).experiment_id))
    kd = [r for r in search if r.data.params.get("objective") == "kd"]
    assert {r.data.params["teacher"] for r in kd} == {teacher} and set(outcome.runs["outcome"]) == {"finished"}
    # both points confirmed on the three arms (Self-KD read its point's Finetune, KD the study's teacher), and the
    # choice is the point with the best mean over arms
    assert len(search) == 2 + 2 * 2 + 1 and {r.info.status for r in search} == {"FINISHED"}  # one Finetune: alpha
    # does not enter its training, so both points share its trial
    result = yaml.safe_load(outcome.result_file.read_text())["choices"]["RTE"]["kd"]
    table = result["confirmed"]
    assert len(table) == 2 and all(set(row["arms"]) == {"finetune", "selfkd", "kd"} for row in table)
    for row in table:
        assert row["score"] == pytest.approx(np.mean(list(row["arms"].values())), abs=1e-6)
    assert result["settings"] == max(table, key=lambda row: row["score"])["point"]
    report = search_report.render(config.runs_dir / "reports", outcome.name, outcome.runs, outcome.result_file,
                                  outcome.evaluations, outcome.rungs).read_text()
    best = max(table, key=lambda row: row["score"])
    assert f"**alpha={best['point']['alpha']}**" in report and f"{best['score']:.4f} |" in report
    rerun = resolved_plan(config, "toy", "smoke", ["searched"])  # the rerun is planned from the choice
    assert rerun.pending == {} and {m.settings["alpha"] for m in rerun.experiments["searched"] if m.arm != "finetune"} \
        == {result["settings"]["alpha"]}
    lines.clear()  # a second search finds the teacher ready: nothing trains before it
    search_plan_, _ = search_plan(config, "toy", "smoke", "search_kd")
    assert train_teachers(config, search_plan_, "search_kd", search_plan_.unique(), None, lines.append) == study
    assert lines == [] and len(list(tracking.all_runs(client, study))) == 1  # the teacher ran once


def test_an_ensemble_teachers_logits_are_the_log_of_its_mean_probabilities():
    from scipy.special import softmax

    from trainers.loop import ensemble_logits
    a, b = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [3.0, -1.0]])
    mean = (softmax(a, axis=-1) + softmax(b, axis=-1)) / 2
    assert np.allclose(softmax(ensemble_logits([a, b], regression=False), axis=-1), mean, atol=1e-6)
    assert np.allclose(ensemble_logits([a[:, :1], b[:, :1]], regression=True), [[1.0], [1.5]])
