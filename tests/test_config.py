"""suite.yaml validation and CLI errors: one line naming what is wrong and what is valid, exit 2, nothing run."""
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers import paper_section
from pipelines.config import DEFAULT_CONFIG, ConfigError, load
from pipelines.cli import main
from trainers import assets
from trainers.tasks import TASKS

PROFILES = ", ".join(load().data["profiles"])  # as declared in suite.yaml


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["runs_dir"] = str(tmp_path / "runs")
    mutate(data)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["profiles"]["cpu"].update(learning_rate=1), "profiles.cpu: unknown key 'learning_rate' (valid: "),
    (lambda d: d["papers"]["revisiting"]["experiments"]["reinit"].update(tasks=["RTE", "XNLI"]),
     "papers.revisiting.experiments.reinit.tasks: unknown task 'XNLI' (valid: RTE, MRPC, STS-B, CoLA, SST-2"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["bias_correction"]["arms"].update(sgd={"optimizer": "sgd"}),
     "experiments.bias_correction.arms.sgd.optimizer: bad value 'sgd' (expected one of adamw, bertadam)"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["methods"]["arms"]["mixout"].update(mixout=[0.5, 1.5]),
     "arms.mixout.mixout: bad value 1.5 (expected a number in (0, 1))"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["longer"]["arms"]["standard"].update(
        max_steps={"selected": "bias_correction"}),
     "experiment 'bias_correction' does not select 'max_steps' in arm 'standard'"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["reinit"]["arms"]["standard"].update(
        max_steps={"selected": "longer_search"}),
     "selections form a cycle"),
    (lambda d: paper_section(d, "cpu")["grids"].update({"methods.mixout.p": [0.5]}),
     "profiles.cpu.papers.revisiting.grids: 'methods.mixout.p': experiment 'methods' has no arm 'mixout' with "
     "setting 'p'"),
    (lambda d: paper_section(d, "cpu", "minbert-meanteacher")["grids"].update({"single_task.*.sst_weight": 2.0}),
     "grids: 'single_task.*.sst_weight': no arm of experiment 'single_task' declares setting 'sst_weight' (declare "
     "the paper's value in the experiment's settings)"),
    (lambda d: paper_section(d, "cpu")["skip"].update(tables=""),
     "profiles.cpu.papers.revisiting.skip.tables: expected the reason as text"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["other_models"]["arms"]["standard"].update(recipe=["gpt"]),
     "arms.standard.recipe: unknown recipe 'gpt' (valid: xlnet, roberta, electra, bart)"),
    (lambda d: d["profiles"]["cpu"].update(batch_size=0), "profiles.cpu.batch_size: expected a positive integer, "
                                                          "got 0"),
    (lambda d: d.update(default_profile="huge"), f"default_profile: unknown profile 'huge' (valid: {PROFILES})"),
    (lambda d: d["profiles"]["paper"]["resources"].update(gpus_per_trial=1.5),
     "profiles.paper.resources.gpus_per_trial: expected 0, a fraction in (0, 1] (trials share a GPU) or a whole "
     "number, got 1.5"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["methods_searched"]["arms"]["mixout"].update(
        mixout={"searched": "reinit"}),
     "arms.mixout.mixout: experiment 'reinit' declares no search"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["reinit"].update(search={"reduction_factor": 1}),
     "experiments.reinit.search.reduction_factor: expected an integer >= 2"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["methods_searched"]["arms"]["mixout"].update(
        mixout={"searched": "methods", "selected": "methods"}),
     "arms.mixout.mixout: expected one of 'selected' (an experiment's choice) or 'searched'"),
    (lambda d: d["profiles"]["cpu"].update(batching="sorted"),
     "profiles.cpu.batching: unknown batching 'sorted' (valid: random, length_grouped)"),
    (lambda d: paper_section(d, "cpu", "labelreg").update(task_train_examples={"SST-2": 0}),
     "profiles.cpu.papers.labelreg.task_train_examples.SST-2: expected a positive integer, got 0"),
    (lambda d: paper_section(d, "cpu", "labelreg").update(task_train_examples={"SST2": 500}),
     "profiles.cpu.papers.labelreg.task_train_examples: unknown task 'SST2' (valid: "),
    (lambda d: paper_section(d, "paper", "labelreg")["models"]["gpt2"].update(cost={"seconds_per_step": -1}),
     "profiles.paper.papers.labelreg.models.gpt2.cost: missing key 'seconds_per_eval_example'"),
    (lambda d: d["papers"]["labelreg"]["experiments"]["search_kd"]["search"].update(confirm="glue"),
     "experiments.search_kd.search.confirm: expected an experiment whose settings read this search "
     "({searched: search_kd}; valid: glue_searched)"),
    (lambda d: d["papers"]["labelreg"]["experiments"]["search_kd"]["search"].update(only="yes"),
     "experiments.search_kd.search.only: expected true (run by `make search` only, never by reproduce) or false"),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["self_distill"]["arms"]["sdv"].update(teacher_k=[1, "all"]),
     "experiments.self_distill.arms.sdv: an sdv teacher votes over K snapshots: give teacher_k a positive integer"),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["self_distill"]["arms"].update(
        sda={"self_teacher": "sda", "teacher_k": [2]}),
     "experiments.self_distill.arms.sda: self_teacher needs an objective that reads a teacher (sd), got 'ce'"),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["self_distill"]["arms"]["base"].update(teacher_k=2),
     "experiments.self_distill.arms.base: teacher_k is the window of a self_teacher (sda or sdv); give one"),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["self_distill"]["arms"]["base"].update(sampler="even"),
     "experiments.self_distill.arms.base.sampler: a multitask setting, but task 'IMDb' is a single task "
     "(multitask: minBERT)"),
    (lambda d: d["papers"]["minbert-meanteacher"]["experiments"]["round_robin"]["arms"]["rr_even"].update(
        sampler="zigzag"),
     "experiments.round_robin.arms.rr_even.sampler: bad value 'zigzag' (expected one of sequential, rr_unbalanced, "
     "rr_balanced, even)"),
    (lambda d: d["papers"]["minbert-meanteacher"]["experiments"]["single_task"]["arms"]["sst_only"].update(
        train_tasks="sst+nli"),
     "experiments.single_task.arms.sst_only.train_tasks: bad value 'sst+nli' (expected tasks joined by + from sst, "
     "para, sts"),
    (lambda d: d["papers"]["minbert-generalization"]["experiments"]["distill"]["arms"]["kd"].update(temperature=2.0),
     "experiments.distill.arms.kd.temperature: multitask KD reads the teacher's probabilities: 1 only, got 2.0"),
    (lambda d: d["papers"]["minbert-generalization"]["experiments"]["ablations"]["arms"]["b3"].update(
        objective="ls", alpha=0.1),
     "experiments.ablations.arms.b3.objective: the multitask trainer's objective is ce or kd, got 'ls'"),
    (lambda d: d["papers"]["minbert-generalization"]["experiments"]["ablations"]["arms"]["b3"].update(llrd=0.9),
     "experiments.ablations.arms.b3.llrd: a single-task setting; the multitask trainer does not use it (its "
     "settings: train_tasks, sampler"),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["self_distill"]["arms"]["sda"].update(teacher_k=[0]),
     "arms.sda.teacher_k: bad value 0 (expected a positive integer K, or all (K = T-1))"),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["stability"].update(init_seed=-1),
     "experiments.stability.init_seed: expected a seed (an integer >= 0)"),
    (lambda d: paper_section(d, "cpu", "selfdistill").update(stand_ins={"AG": "AG-prox"}),
     "profiles.cpu.papers.selfdistill.stand_ins: unknown task 'AG-prox' (valid: "),
    (lambda d: d["papers"]["selfdistill"]["experiments"]["self_distill"]["arms"]["base"].update(full_train=True),
     "papers.selfdistill.experiments.self_distill.arms.base.full_train: task(s) IMDb, AG, DBPedia, Yelp-P, Yelp-F, "
     "SNLI have no full-training split (full_train applies to RTE, MRPC, STS-B, CoLA, SST-2, QNLI, QQP, MNLI)"),
    (lambda d: paper_section(d, "cpu").update(stand_ins={"MNLI": "QNLI-proxy"}),
     "profiles.cpu.papers.revisiting: experiments.mnli_full.arms.adamw.full_train: task(s) QNLI-proxy have no "
     "full-training split (full_train applies to RTE, "),
])
def test_bad_config_is_one_clear_error(tmp_path, mutate, message):
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, mutate))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("suite.yaml: ")


def test_full_train_tasks_are_those_whose_split_takes_it(tmp_path, monkeypatch):
    """Which tasks accept full_train comes from the task registry's split functions, not from a list."""
    path = _write(tmp_path, lambda d: d["papers"]["revisiting"]["experiments"]["mnli_full"].update(
        tasks=["MNLI", "SST-5"]))
    with pytest.raises(ConfigError, match=r"mnli_full\.arms\.adamw\.full_train: task\(s\) SST-5 have no"):
        load(path)
    sst5 = TASKS["SST-5"]
    monkeypatch.setitem(TASKS, "SST-5", dataclasses.replace(
        sst5, split=lambda task, files, seed=None, full_train=False: sst5.split(task, files, seed)))
    load(path)


@pytest.mark.parametrize("argv,message", [
    (["plan", "revisitng"], "unknown paper 'revisitng' (valid: revisiting, labelreg, selfdistill, "
                            "minbert-meanteacher, minbert-generalization)"),
    (["run", "revisiting", "--profile", "huge"], f"unknown profile 'huge' (valid: {PROFILES})"),
    (["reproduce", "revisiting", "--experiments", "reinit,longest"],
     "unknown experiment 'longest' for paper 'revisiting' (valid: bias_correction, reinit, reinit_1k, "
     "parameter_change, longer_search, longer, longer_search_1k, longer_1k, methods, methods_searched, "
     "controlled_seeds, precision, "
     "mnli_full, other_models)"),
    (["run", "revisiting", "--profile", "paper"],
     "none of the 6426 planned trials can run here: checkpoint bert-large-uncased not in {models} and the hub is "
     "off (HF_HUB_OFFLINE=1)"),
])
def test_cli_errors_exit_2_without_launching(tmp_path, capsys, argv, message):
    config = _write(tmp_path, lambda d: None)
    assert main([*argv, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == f"suite: error: {message.format(models=assets.models_folder())}\n"
    assert not (tmp_path / "runs").exists()  # nothing launched, nothing written


def test_cli_bad_yaml_through_the_console_script(tmp_path):
    bad = tmp_path / "suite.yaml"
    bad.write_text("profiles: [unclosed\npapers: {}\n")
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "plan", "revisiting", "--config", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == ("suite: error: suite.yaml: invalid YAML at line 2, column 7: expected ',' or ']', but got "
                           "':'\n")


def test_an_experiment_reads_as_its_yaml_with_fields_for_planning():
    """papers.<p>.experiments.<e> is a frozen Experiment: planning reads its fields; as a mapping it holds only the
    keys suite.yaml set, so `"search" in exp` and `exp.get("select")` mean what they meant on the YAML."""
    import dataclasses
    paper = load().paper("revisiting")
    exp, raw = paper.experiments["reinit"], load().data["papers"]["revisiting"]["experiments"]["reinit"]
    assert dict(exp) == raw and set(exp) == set(raw)
    assert exp.arms is exp["arms"] and exp.search is None and "search" not in exp and exp.get("search") is None
    with pytest.raises(KeyError):
        exp["search"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.arms = {}
    searched = next(e for e in paper.experiments.values() if e.search is not None)
    assert "search" in searched and searched["search"] is searched.search
