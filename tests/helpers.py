"""Shared by the tests that drive the `suite` CLI on a copy of suite.yaml whose runs go to a temporary folder."""
import subprocess
import sys
from pathlib import Path

import yaml

from pipelines.config import DEFAULT_CONFIG


def study_config(root: Path, mutate=None) -> Path:
    """suite.yaml with runs_dir under ``root``; ``mutate(data)`` edits it first."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["runs_dir"] = str(root / "runs")
    if mutate:
        mutate(data)
    path = root / "suite.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def suite(config: Path, *args: str, **kwargs) -> subprocess.Popen:
    """`suite ARGS --config CONFIG` as a child process (stdout and stderr captured as text)."""
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args, "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
