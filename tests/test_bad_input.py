"""Bad inputs a user can give the CLI: each is one line on stderr (`suite: error: ...`) naming what is wrong and
what is valid, exit 2, nothing written. Selecting only experiments a profile skips is not an error: no trial
runs, no store or Ray starts, and the report says why."""
from pathlib import Path

import pytest

from helpers import paper_section, study_config
from pipelines.cli import main
from pipelines.config import ConfigError, load
from pipelines.search import search_plan
from reports.shipped import shipped

SMOKE_PRECISION = "fp16 mixed precision needs a CUDA GPU"
PROFILES = ", ".join(load().data["profiles"])  # as declared in suite.yaml
REPORTS = ", ".join(shipped())  # every report that ships (reports.shipped)


def _error(capsys, tmp_path, argv, config=None) -> str:
    """Runs `suite ARGV --config CONFIG` in this process; checks exit 2, one stderr line and nothing written."""
    config = config or study_config(tmp_path)
    assert main([*argv, "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("suite: error: "), captured.err
    assert not (tmp_path / "runs").exists()
    return captured.err[len("suite: error: "):].rstrip("\n")


def _text_config(tmp_path: Path, edit) -> Path:
    """The scratch suite.yaml with its text edited (for what a mutated mapping cannot express)."""
    path = study_config(tmp_path)
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path


# --- 1. only skipped experiments chosen ---------------------------------------------------------------------

def test_only_skipped_experiments_run_nothing_and_the_report_says_why(tmp_path, capsys):
    code = main(["reproduce", "revisiting", "--profile", "smoke", "--experiments", "precision",
                 "--config", str(study_config(tmp_path))])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert (f"revisiting/smoke: 0 trials to run: precision is skipped at profile smoke ({SMOKE_PRECISION})"
            in out.splitlines())
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["reports"]  # no MLflow store, no Ray results, no lock
    report = (runs / "reports" / "revisiting-smoke" / "report.md").read_text(encoding="utf-8")
    assert f"not run at profile smoke: {SMOKE_PRECISION}" in report
    assert "Built from 0 finished runs of the 8 trials planned at this profile" in report and "nothing has run" in report
    assert "Traceback" not in err


def test_run_of_only_skipped_experiments_writes_nothing(tmp_path, capsys):
    config = study_config(tmp_path)
    reason = load(config).profile("cpu", "revisiting")[1]["skip"]["other_models"]
    assert main(["run", "revisiting", "--profile", "cpu", "--experiments", "other_models", "--config",
                 str(config)]) == 0
    out = capsys.readouterr().out
    assert f"revisiting/cpu: 0 trials to run: other_models is skipped at profile cpu ({reason})" in out
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("profile,experiments", [("smoke", "other_models"), ("cpu", "precision,other_models")])
def test_report_of_only_skipped_experiments_renders(tmp_path, capsys, profile, experiments):
    config = study_config(tmp_path)
    assert main(["report", "revisiting", "--profile", profile, "--experiments", experiments,
                 "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert err == (f"suite: no finished runs for revisiting-{profile}: the report shows every table as not run (no "
                   f"chosen experiment runs at profile {profile}; its coverage table says why)\n")
    report = (tmp_path / "runs" / "reports" / f"revisiting-{profile}" / "report.md").read_text(encoding="utf-8")
    assert f"not run at profile {profile}: " in report
    assert not (tmp_path / "runs" / "mlflow.db").exists()


def test_every_single_experiment_reports_from_an_empty_store(tmp_path):
    """Each section renders from an empty frame, whichever experiment alone is chosen (the report trains nothing).
    The cpu profile: the smoke profile's sections render from the session's smoke study (tests/conftest.py)."""
    from pipelines.selection import resolved_plan
    from reports.build import build_report
    config = load(study_config(tmp_path))
    for experiment in config.paper("revisiting")["experiments"]:
        path = build_report(config, resolved_plan(config, "revisiting", "cpu", [experiment]))
        assert "Built from 0 finished runs" in path.read_text(encoding="utf-8"), experiment
    assert not (tmp_path / "runs" / "mlflow.db").exists()


# --- 7. a report of a study with no finished run yet: an error, nothing written ---------------------------------

@pytest.mark.parametrize("paper,experiments,hint", [
    ("revisiting", ["--experiments", "bias_correction"], "PAPER=revisiting PROFILE=smoke EXPERIMENTS=bias_correction"),
    ("all", [], "PAPER=all PROFILE=smoke"),
])
def test_report_with_no_finished_runs_is_an_error(tmp_path, capsys, paper, experiments, hint):
    assert _error(capsys, tmp_path, ["report", paper, "--profile", "smoke", *experiments]) == (
        f"no finished runs for {paper} at profile smoke yet (looked in {tmp_path / 'runs'}); run `make reproduce "
        f"{hint}` first")


def test_report_from_a_store_without_the_papers_runs_changes_nothing(tmp_path, capsys):
    """Another study's store: the same error, and the store is left as it was (no experiment created)."""
    import hashlib

    from pipelines.tracking import seed_store, tracking_uri
    config = study_config(tmp_path)
    runs = tmp_path / "runs"
    seed_store(tracking_uri(runs))
    before = hashlib.sha256((runs / "mlflow.db").read_bytes()).hexdigest()
    assert main(["report", "revisiting", "--profile", "smoke", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (f"suite: error: no finished runs for revisiting at profile smoke yet (looked "
                                       f"in {runs}); run `make reproduce PAPER=revisiting PROFILE=smoke` first\n")
    assert [p.name for p in runs.iterdir()] == ["mlflow.db"]
    assert hashlib.sha256((runs / "mlflow.db").read_bytes()).hexdigest() == before


# --- 2, 3. duplicate keys and invalid YAML ------------------------------------------------------------------

def test_duplicate_key_names_both_lines_and_where(tmp_path, capsys):
    def duplicate(text):
        lines = text.splitlines()
        smoke = lines.index("  smoke:")
        first = next(i for i in range(smoke, len(lines)) if lines[i].startswith("    lr: "))
        lines.insert(first + 3, "    lr: 0.5")
        return "\n".join(lines) + "\n"
    config = _text_config(tmp_path, duplicate)
    lines = config.read_text().splitlines()
    first, second = [i + 1 for i, line in enumerate(lines) if line.startswith("    lr: ")][:2]
    assert _error(capsys, tmp_path, ["plan", "revisiting"], config) == (
        f"suite.yaml: duplicate key 'lr' at lines {first} and {second} (in profiles.smoke)")


def test_duplicate_top_level_key(tmp_path):
    config = _text_config(tmp_path, lambda t: t + "default_profile: smoke\n")
    first = config.read_text().splitlines().index("default_profile: cpu") + 1
    last = len(config.read_text().splitlines())
    with pytest.raises(ConfigError, match=f"^suite.yaml: duplicate key 'default_profile' at lines {first} and "
                                          f"{last} \\(at the top level\\)$"):
        load(config)


def test_invalid_yaml_gives_line_and_column(tmp_path, capsys):
    config = _text_config(tmp_path, lambda t: t.replace("  smoke:", "  smoke: [unclosed", 1))
    line = config.read_text().splitlines().index("  smoke: [unclosed") + 1
    assert _error(capsys, tmp_path, ["plan", "revisiting"], config) == (
        f"suite.yaml: invalid YAML at line {line + 1}, column 16: expected ',' or ']', but got ':'")


# --- 4. SUITE_ASSETS ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["plan", "run", "report"])
def test_suite_assets_not_a_directory(tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("SUITE_ASSETS", "/nonexistent")
    assert _error(capsys, tmp_path, [command, "revisiting", "--profile", "smoke"]) == (
        "SUITE_ASSETS=/nonexistent is not a directory; set it to the folder holding data/ and models/ "
        "(default ../shared)")


@pytest.mark.parametrize("models", ["absent", "empty"])
def test_empty_assets_folder_is_named_and_the_hub_is_off(tmp_path, capsys, monkeypatch, models):
    """HF_HUB_OFFLINE=1 (the Makefile, the CLI, conftest): the hub is off, not "unreachable"."""
    from trainers.assets import AssetError, model_source
    root = tmp_path / "assets"
    (root / "models" if models == "empty" else root).mkdir(parents=True)
    monkeypatch.setenv("SUITE_ASSETS", str(root))
    hub = f"not in {root / 'models'} ({models}) and the hub is off (HF_HUB_OFFLINE=1)"
    message = _error(capsys, tmp_path, ["run", "revisiting", "--profile", "smoke"])
    assert message.startswith("none of the ") and message.endswith(f"can run here: checkpoint all-MiniLM-L6-v2 {hub}")
    with pytest.raises(AssetError) as err:
        model_source("all-MiniLM-L6-v2")
    assert str(err.value) == f"model 'all-MiniLM-L6-v2' is {hub}"


# --- 5. search: unknown experiment vs one without a search ----------------------------------------------------

def test_search_of_an_unknown_experiment(tmp_path, capsys):
    config = study_config(tmp_path)
    declared = ", ".join(load(config).paper("revisiting")["experiments"])
    assert _error(capsys, tmp_path, ["search", "revisiting", "--experiment", "nope"], config) == (
        f"unknown experiment 'nope' for paper 'revisiting' (valid: {declared})")


def test_search_of_an_experiment_without_a_search_lists_those_with_one(tmp_path, capsys):
    assert _error(capsys, tmp_path, ["search", "revisiting", "--experiment", "reinit", "--profile", "smoke"]) == (
        "experiment 'reinit' of paper 'revisiting' declares no search (searchable: methods)")


@pytest.mark.parametrize("tasks,message", [
    ("RTE,QQQ", "task 'QQQ' is not searched in methods at profile smoke (valid: RTE, STS-B)"),
    (",", "--tasks: expected comma-separated names, got ','"),
])
def test_search_with_bad_tasks(tmp_path, capsys, tasks, message):
    assert _error(capsys, tmp_path, ["search", "revisiting", "--experiment", "methods", "--profile", "smoke",
                                     "--tasks", tasks]) == message


def test_search_of_an_experiment_with_no_task_at_the_profile(tmp_path):
    config = load(study_config(tmp_path, lambda d: paper_section(d, "smoke").update(tasks=["QQP"])))
    with pytest.raises(ConfigError, match="^experiment 'methods' has no task at profile smoke \\(its tasks: "):
        search_plan(config, "revisiting", "smoke", "methods")


# --- 6. integer keys, numbers written as text, seed counts --------------------------------------------------

@pytest.mark.parametrize("key", ["batch_size", "max_seq_len", "evaluations", "train_examples", "eval_examples",
                                 "num_layers"])
def test_integer_keys_say_integer(tmp_path, capsys, key):
    config = study_config(tmp_path, lambda d: d["profiles"]["smoke"].update({key: 8.5}))
    nullable = " or null" if key in ("train_examples", "eval_examples", "num_layers") else ""
    assert _error(capsys, tmp_path, ["plan", "revisiting"], config) == (
        f"suite.yaml: profiles.smoke.{key}: expected a positive integer{nullable}, got 8.5")


@pytest.mark.parametrize("mutate,message", [
    (lambda d: paper_section(d, "smoke")["seeds"].update(table=-3),
     "profiles.smoke.papers.revisiting.seeds.table: expected a positive integer, got -3"),
    (lambda d: paper_section(d, "smoke")["seeds"].update(many=2.5),
     "profiles.smoke.papers.revisiting.seeds.many: expected a positive integer, got 2.5"),
    (lambda d: d["profiles"]["smoke"].update(retries=1.5), "profiles.smoke.retries: expected an integer >= 0, "
                                                           "got 1.5"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["reinit"].update(seeds=-4),
     "papers.revisiting.experiments.reinit.seeds: expected a positive integer count, got -4 (or a seed set: "
     "controlled, many, search, table)"),
    (lambda d: d["profiles"]["smoke"].update(lr="fast"), "profiles.smoke.lr: expected a positive number, "
                                                         "got text 'fast'"),
    (lambda d: d["profiles"]["smoke"].update(lr="1e-4"), "profiles.smoke.lr: expected a positive number, got text "
     "'1e-4' (YAML reads 1e-4 as text: write a float with a dot, e.g. 2.0e-5)"),
    (lambda d: d["profiles"]["smoke"].update(warmup_ratio=True), "profiles.smoke.warmup_ratio: expected a number in "
                                                                 "[0, 1), got True"),
    (lambda d: d.update(runs_dir=None), "runs_dir: expected a folder path, got nothing (an empty value)"),
    (lambda d: d.update(default_profile=["cpu"]), f"default_profile: unknown profile ['cpu'] (valid: {PROFILES})"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["reinit"].update(select="reinit"),
     "papers.revisiting.experiments.reinit.select: expected a list of setting names, got text 'reinit'"),
    (lambda d: d["papers"]["revisiting"]["experiments"]["reinit"].update(settings=[1]),
     "papers.revisiting.experiments.reinit.settings: expected a mapping of settings, got a list"),
    (lambda d: d["papers"]["revisiting"].update(report="nope"), "papers.revisiting.report: unknown report 'nope' "
     f"(valid: {REPORTS})"),
])
def test_bad_values_are_one_clear_line(tmp_path, capsys, mutate, message):
    config = study_config(tmp_path, mutate)
    assert _error(capsys, tmp_path, ["plan", "revisiting"], config) == f"suite.yaml: {message}"


def test_no_bad_value_anywhere_in_the_config_gives_a_stack_trace(tmp_path):
    """Every value of suite.yaml replaced in turn by each wrong kind: a ConfigError or a valid config."""
    import copy

    import yaml

    from pipelines.config import DEFAULT_CONFIG, validate
    base = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))

    def paths(node, prefix=()):
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in children:
            yield prefix + (key,)
            yield from paths(value, prefix + (key,))
    def narrowed(paper: str) -> dict:
        """The config with one paper (and the profiles' sections of it), sharing base's nodes below them."""
        profiles = {name: {**p, "papers": {k: v for k, v in p["papers"].items() if k == paper}} if "papers" in p
                    else p for name, p in base["profiles"].items()}
        return {**base, "papers": {paper: base["papers"][paper]}, "profiles": profiles}
    views = {paper: narrowed(paper) for paper in base["papers"]}

    def config_of(path) -> dict:
        """A change inside one paper's settings is validated with that paper alone (5x faster, the same checks)."""
        if path[0] == "papers" and len(path) >= 3:
            return views[path[1]]
        if path[0] == "profiles" and len(path) >= 5 and path[2] == "papers":
            return views.get(path[3], base)
        return base
    pristine = copy.deepcopy(base)
    for path in paths(base):
        node = base
        for key in path[:-1]:
            node = node[key]
        good = node[path[-1]]
        for bad in (None, [], "x", 3.5, -2, {"a": 1}, [1], True):
            # replaced in place and put back, not in a deep copy of the whole config for each of the thousands of
            # paths and bad values (the same config: validate changes nothing, checked below)
            node[path[-1]] = bad
            try:
                validate(config_of(path), Path("suite.yaml"))
            except ConfigError as exc:
                assert "\n" not in str(exc), (path, bad)
            finally:
                node[path[-1]] = good
    assert base == pristine


# --- the command line and the config file -------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    ("", "suite.yaml: the file is empty; expected a mapping with keys default_profile, papers, profiles, runs_dir"),
    ("# only a comment\n", "suite.yaml: the file is empty; expected a mapping with keys default_profile, papers, "
                           "profiles, runs_dir"),
    ("- smoke\n- cpu\n", "suite.yaml: expected a mapping with keys default_profile, papers, profiles, runs_dir at "
                         "the top level, got a list"),
    ("a:\n\tb: 1\n", "suite.yaml: invalid YAML at line 2, column 1: found character '\\t' that cannot start any "
                     "token"),
])
def test_empty_or_wrong_shape_config(tmp_path, capsys, text, message):
    config = tmp_path / "suite.yaml"
    config.write_text(text, encoding="utf-8")
    assert _error(capsys, tmp_path, ["plan", "revisiting"], config) == message


def test_config_path_that_is_a_directory_or_missing(tmp_path, capsys):
    assert _error(capsys, tmp_path, ["plan", "revisiting"], tmp_path) == (
        f"{tmp_path}: is a directory; --config takes the path of a suite.yaml file")
    assert _error(capsys, tmp_path, ["plan", "revisiting"], tmp_path / "nope.yaml") == (
        f"{tmp_path / 'nope.yaml'}: config file not found")


def test_unreadable_config(tmp_path, capsys, monkeypatch):
    config = study_config(tmp_path)

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "read_text", denied)  # chmod 000 does not stop root, who runs CI containers
    assert main(["plan", "revisiting", "--config", str(config)]) == 2
    assert capsys.readouterr().err == f"suite: error: {config}: cannot read the config file (permission denied)\n"


@pytest.mark.parametrize("argv,message", [
    (["run", "revisiting", "--experiments", ","], "--experiments: expected comma-separated names, got ','"),
    (["report", "revisiting", "--profile", "huge"], f"unknown profile 'huge' (valid: {PROFILES})"),
    (["report", "nopaper"], "unknown paper 'nopaper' (valid: revisiting, labelreg, selfdistill, minbert-meanteacher, "
     "minbert-generalization)"),
])
def test_cli_choices(tmp_path, capsys, argv, message):
    assert _error(capsys, tmp_path, argv) == message


@pytest.mark.parametrize("command", ["run", "report"])
def test_runs_dir_that_cannot_be_a_folder(tmp_path, capsys, command):
    (tmp_path / "afile").write_text("not a folder")
    config = study_config(tmp_path, lambda d: d.update(runs_dir=str(tmp_path / "afile" / "runs")))
    message = _error(capsys, tmp_path, [command, "revisiting", "--profile", "smoke", "--experiments",
                                        "bias_correction"], config)
    assert message.startswith(f"{tmp_path / 'afile' / 'runs'}")
    assert message.endswith(": Not a directory (runs_dir in the config says where runs and reports go)")
