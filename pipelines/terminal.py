"""A quiet terminal for long commands: our progress lines reach the terminal; everything else written to the
process's stdout and stderr while a study runs (Ray Tune's configuration boxes, its "View detailed results" and
TensorBoard hints, library log lines) goes to a log file under runs/logs/, named on the terminal."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path


class QuietTerminal:
    """Redirects file descriptors 1 and 2 (so C-level writes and Ray's subprocess-free prints are caught too) to
    ``log_path``; ``line`` writes to the terminal the process had before. Nested use is a no-op."""

    _active: QuietTerminal | None = None

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.nested = False

    def __enter__(self) -> QuietTerminal:
        if QuietTerminal._active is not None:
            self.nested, self.log_path = True, QuietTerminal._active.log_path
            self._terminal = QuietTerminal._active._terminal
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = (os.dup(1), os.dup(2))
        self._log = open(self.log_path, "a", buffering=1, encoding="utf-8")
        self._log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: {' '.join(sys.argv)}\n")
        self._terminal = os.fdopen(os.dup(self._saved[0]), "w", buffering=1, encoding="utf-8")
        os.dup2(self._log.fileno(), 1)
        os.dup2(self._log.fileno(), 2)
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # "Creating initial MLflow database tables..."
        QuietTerminal._active = self
        return self

    def line(self, text: str) -> None:
        self._terminal.write(text + "\n")
        self._terminal.flush()

    def __exit__(self, *exc) -> None:
        if self.nested:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        self._terminal.close()
        self._log.close()
        QuietTerminal._active = None


def log_path(runs_dir: Path, name: str) -> Path:
    return runs_dir / "logs" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
