import os
import subprocess

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a missing hub would otherwise stall for about a minute
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The session's smoke study: every paper of suite.yaml (a new paper's included with no edit here) but those left out
# below, reproduced together by `suite reproduce all` (one process, one Ray instance, one MLflow store) instead of
# one process each, which would start Ray and create a store per paper.
SMOKE_LEFT_OUT = {"minbert-meanteacher": "no test reads its smoke study; its 24 multitask trials would only lengthen "
                                         "`make test`"}
# minbert-generalization runs its ensembles and their KD students only (tests/test_minbert_report.py)
SMOKE_SKIPS = {"minbert-generalization": dict.fromkeys(("ablations", "swa"),
                                                       "tests: the ensembles and their students only")}


# Fixtures that run a study or start Ray (Ray Tune, a real MLflow store): a test that needs one, directly or through
# another fixture, is marked `study`, as is a test marked so by hand because it runs a study itself; `make
# test-fast` runs the others (-m "not study").
STUDY_FIXTURES = {"smoke_studies", "killed_and_resumed", "searched", "cluster", "one_ray"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if STUDY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.study)


def _without(left_out, skips=None):
    """suite.yaml less the papers ``left_out`` (`suite ... all` runs every paper the config declares), with ``skips``
    ({paper: {experiment: reason}}) added to the smoke profile."""
    def mutate(data):
        data["papers"] = {p: v for p, v in data["papers"].items() if p not in left_out}
        for profile in data["profiles"].values():
            if "papers" in profile:
                profile["papers"] = {p: v for p, v in profile["papers"].items() if p not in left_out}
        for paper, reasons in (skips or {}).items():
            data["profiles"]["smoke"]["papers"][paper].setdefault("skip", {}).update(reasons)
    return mutate


def _by_paper(out: str, papers) -> dict[str, str]:
    """Each paper's part of `suite reproduce all`'s output: its study's lines (they end with `PAPER: trials: ...`)
    and the lines after every study (reports written, the index)."""
    parts, lines = {}, []
    for line in out.splitlines(keepends=True):
        lines.append(line)
        paper = line.partition(": trials: ")[0]
        if paper in papers:
            parts[paper], lines = "".join(lines), []
    return {paper: part + "".join(lines) for paper, part in parts.items()}


@pytest.fixture(scope="session")
def smoke_studies(tmp_path_factory):
    """The smoke study of every paper of suite.yaml but SMOKE_LEFT_OUT (`suite reproduce all --profile smoke` on a
    scratch copy of suite.yaml less them and less SMOKE_SKIPS), run once per session and shared: {paper: (config,
    runs folder, the paper's part of the output as a completed process)}."""
    from helpers import study_config, suite
    from pipelines.config import load
    root = tmp_path_factory.mktemp("study")
    config = study_config(root, _without(SMOKE_LEFT_OUT, SMOKE_SKIPS))
    papers = list(load(config).data["papers"])
    proc = suite(config, "reproduce", "all", "--profile", "smoke")
    out, err = proc.communicate(timeout=1200)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    parts = _by_paper(out, papers)
    assert set(parts) == set(papers), out[-3000:]
    return {paper: (config, root / "runs", subprocess.CompletedProcess(proc.args, proc.returncode, part, err))
            for paper, part in parts.items()}


@pytest.fixture(scope="session")
def study(smoke_studies):
    """The smoke study of the whole revisiting paper: (config, runs folder, the completed first run)."""
    return smoke_studies["revisiting"]


@pytest.fixture(scope="session")
def killed_and_resumed(tmp_path_factory):
    """`suite reproduce revisiting --experiments bias_correction --profile smoke`, its driver and Ray processes
    killed (SIGKILL) once 3 of its 8 trials have finished, then the same command again to the end with half a CPU
    per trial (trial ids do not depend on resources), so that the other 5 run 4 at once on 2 cores: twice a study's
    writers. Shared: test_concurrency checks that no metric point of the concurrent trials is lost, test_faults
    that the resumed study reports as an uninterrupted one. (runs folder, the resumed run's output as a completed
    process.) The killed run keeps 1 CPU per trial: each extra worker imports the stack for ~13 CPU-seconds."""
    import os
    import signal
    import time

    from helpers import finished_runs, study_config, suite

    def half_cpu(data):
        data["profiles"]["smoke"]["resources"]["cpus_per_trial"] = 0.5
    root = tmp_path_factory.mktemp("killed")
    config = study_config(root)
    args = ("reproduce", "revisiting", "--profile", "smoke", "--experiments", "bias_correction")
    proc = suite(config, *args, start_new_session=True)
    deadline = time.monotonic() + 300
    while finished_runs(root / "runs" / "mlflow.db") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray processes, mid-study
    proc.communicate()
    resumed = suite(study_config(root, half_cpu), *args)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out[-3000:] + err[-3000:]
    return root / "runs", subprocess.CompletedProcess(resumed.args, 0, out, err)
