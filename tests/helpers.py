"""Shared by the tests that drive the `suite` CLI on a copy of suite.yaml whose runs go to a temporary folder."""
import subprocess
import sys
from pathlib import Path

from pipelines.config import scratch_copy as study_config  # noqa: F401  (suite.yaml with runs under a tmp folder)


def paper_section(data: dict, profile: str, paper: str = "revisiting") -> dict:
    """suite.yaml's profiles.<profile>.papers.<paper> (made when absent): where a profile narrows one paper."""
    return data["profiles"][profile].setdefault("papers", {}).setdefault(paper, {})


def suite(config: Path, *args: str, **kwargs) -> subprocess.Popen:
    """`suite ARGS --config CONFIG` as a child process (stdout and stderr captured as text)."""
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args, "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
