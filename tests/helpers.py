"""Shared by the tests that drive the `suite` CLI on a copy of suite.yaml whose runs go to a temporary folder."""
import sqlite3
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


def finished_runs(db: Path) -> int:
    """FINISHED runs in a sqlite MLflow store that a running study may be writing (0 before it exists, and while
    it is being created: a half-written file reads as "database disk image is malformed", a DatabaseError, and a
    store without its tables yet as an OperationalError, its subclass)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("select count(*) from runs where status = 'FINISHED'").fetchone()[0]
    except sqlite3.DatabaseError:
        return 0
