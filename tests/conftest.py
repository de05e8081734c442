import os
import subprocess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing hub would otherwise stall for about a minute
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """One smoke study of the whole paper (`suite reproduce revisiting --profile smoke` on a scratch copy of
    suite.yaml), run once per session and shared: (config, runs folder, the completed first run)."""
    from helpers import study_config, suite
    root = tmp_path_factory.mktemp("study")
    config = study_config(root)
    proc = suite(config, "reproduce", "revisiting", "--profile", "smoke")
    out, err = proc.communicate(timeout=600)
    first = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return config, root / "runs", first
