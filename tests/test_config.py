"""suite.yaml validation and CLI errors: one line naming what is wrong and what is valid, exit 2, nothing run."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.config import DEFAULT_CONFIG, ConfigError, load
from pipelines.cli import main
from trainers import assets


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
    (lambda d: d["papers"]["revisiting"]["experiments"]["bias_correction"]["grid"].update(optimizer=["sgd"]),
     "grid.optimizer: unknown method 'sgd' (valid: adamw, bertadam)"),
    (lambda d: d["profiles"]["cpu"].update(reinit_depths=["none", 7]), "depth 7 exceeds num_layers 3"),
    (lambda d: d["profiles"]["cpu"].update(batch_size=0), "profiles.cpu.batch_size: expected a positive number"),
    (lambda d: d.update(default_profile="gpu"), "default_profile: unknown profile 'gpu' (valid: smoke, cpu, paper)"),
])
def test_bad_config_is_one_clear_error(tmp_path, mutate, message):
    with pytest.raises(ConfigError) as err:
        load(_write(tmp_path, mutate))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("suite.yaml: ")


@pytest.mark.parametrize("argv,message", [
    (["plan", "revisitng"], "unknown paper 'revisitng' (valid: revisiting)"),
    (["run", "revisiting", "--profile", "gpu"], "unknown profile 'gpu' (valid: smoke, cpu, paper)"),
    (["reproduce", "revisiting", "--experiments", "reinit,longer"],
     "unknown experiment 'longer' for paper 'revisiting' (valid: bias_correction, reinit)"),
    (["run", "revisiting", "--profile", "paper"],
     "model 'bert-large-uncased' is not under {models} and the hub is unreachable"),
])
def test_cli_errors_exit_2_without_launching(tmp_path, capsys, argv, message):
    config = _write(tmp_path, lambda d: None)
    assert main([*argv, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    models = assets.assets_root() / "models"
    assert err == f"suite: error: {message.format(models=models)}\n"
    assert not (tmp_path / "runs").exists()  # nothing launched, nothing written


def test_cli_bad_yaml_through_the_console_script(tmp_path):
    bad = tmp_path / "suite.yaml"
    bad.write_text("profiles: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "plan", "revisiting", "--config", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("suite: error: suite.yaml: not valid YAML") and proc.stderr.count("\n") == 1
