"""The MLflow UI (`make ui`) serves a person looking for runs: a store written by pipelines.tracking, exactly as a
study writes it (tags, params, curves, artifacts) but with made-up numbers, served by `mlflow ui` and rendered by
headless Chromium. The runs table lists the runs by name, a run page shows which experiment, arm, task and seeds
it belongs to, its artifacts are listed, and its curves are drawn.

Chromium is required where CI is set; elsewhere the test is skipped when it is missing.
Screenshots go to $SUITE_UI_SCREENSHOTS when set (to look at them), else to the test's tmp folder."""
import asyncio
import base64
import itertools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from mlflow.tracking import MlflowClient

from pipelines import tracking
from pipelines.config import load
from pipelines.driver import memberships
from pipelines.plan import make_plan
from trainers.config import eval_steps

# MLflow 3.17 opens every experiment in its GenAI view (traces) until the "Model training" toggle is chosen,
# whatever the experiment's mlflow.experimentKind tag says; `make ui` prints links with this query.
ML_VIEW = "?workflowType=machine_learning"
CURVES = ("train_loss", "lr_schedule", "val_metric", "l2_block_1")  # logged per step: drawn as lines
LINES = "document.querySelectorAll('.scatterlayer .js-line').length"  # plotly line traces on the page
# MLflow 3's server job runner (GenAI scorers and trace rollups: eight more processes, each importing MLflow, and
# a start twice as slow on 2 cores) serves nothing the suite or these pages use.
NO_SERVER_JOBS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1600,1000"]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: the MLflow UI test needs it in CI (.ci/run installs it with apt)")
    pytest.skip("chromium is not installed (apt-get install chromium); required where CI is set")


def _fake_result(spec, rng: int) -> dict:
    """Curves and final metrics shaped like trainers.loop.train's, with made-up values."""
    steps = 12
    evals = eval_steps(steps, spec.config.evaluations)
    val = [0.5 + 0.02 * k + 0.01 * (rng % 3) for k in range(len(evals))]
    curves = {"train_loss": [(s, 0.7 * math.exp(-s / 8) + 0.05) for s in range(1, steps + 1)],
              "lr": [(s, spec.config.lr * min(s / 2, (steps - s) / (steps - 2))) for s in range(1, steps + 1)],
              "val_metric": list(zip(evals, val)),
              "l2_block_1": [(0, 0.0), *[(s, 0.01 * s) for s in (4, 8, 12)]]}
    best = max(range(len(val)), key=val.__getitem__)
    return {"outcome": "finished", "curves": curves,
            "metrics": {"best_val": val[best], "test_at_best_val": val[best] - 0.03, "val_last": val[-1],
                        "test_last": val[-1] - 0.04, "best_step": evals[best], "steps": steps, "total_steps": steps,
                        "train_examples": 32, "train_seconds": 1.5, "eval_seconds": 0.5}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Runs of the smoke plan's bias_correction and reinit experiments, written through pipelines.tracking the way
    pipelines.trial writes them; the Standard arm of reinit shares its trials with bias_correction's adamw arm."""
    root = tmp_path_factory.mktemp("ui")
    plan = make_plan(load(), "revisiting", "smoke", ["bias_correction", "reinit"])
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment_id = tracking.ensure_experiment(client, "revisiting-smoke", root / "mlartifacts")
    arms = memberships(plan)
    runs = {}
    for k, spec in enumerate(s for s in plan.unique() if s.config.task == "RTE"):
        tags = {**spec.tags(), **tracking.membership_tags(arms[spec.trial_id]), "paper": "revisiting",
                "profile": "smoke", "data_sha256": "0" * 16}
        run_id = tracking.start_run(client, experiment_id, spec.name, tags, spec.config.to_dict(),
                                    config={"trial_id": spec.trial_id, "run_name": spec.name,
                                            "config": spec.config.to_dict(), "tags": tags})
        tracking.finish_run(client, run_id, _fake_result(spec, k))
        runs[spec.name] = (run_id, arms[spec.trial_id])
    return root, client, experiment_id, runs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ui(store):
    """`mlflow ui` over the store, as `make ui` starts it; stopped (with its workers) at the end."""
    root = store[0]
    port = _free_port()
    log = open(root / "ui.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri",
                             f"sqlite:///{root / 'mlflow.db'}", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"],
                            env={**os.environ, **NO_SERVER_JOBS}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow ui did not start: {(root / 'ui.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class Browser:
    """Headless Chromium driven over the DevTools protocol (aiohttp, which MLflow itself depends on): one
    browser for every page; a page is read once the text a person looks for has rendered (or after a timeout)."""

    def __init__(self, chromium: str, profile: Path):
        self.proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, "--remote-debugging-port=0",
                                      f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.is_file() and len(active.read_text().split()) == 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail("headless chromium did not open its DevTools port")
            time.sleep(0.2)
        port = active.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        self.ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.loop = asyncio.new_event_loop()
        self.session = self.ws = None
        self.loop.run_until_complete(self._connect())
        self.ids = itertools.count(1)

    async def _connect(self):
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.ws_url, max_msg_size=0)

    async def _send(self, method: str, **params):
        call = next(self.ids)
        await self.ws.send_json({"id": call, "method": method, "params": params})
        while True:
            message = await self.ws.receive_json(timeout=60)
            if message.get("id") == call:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def send(self, method: str, **params):
        return self.loop.run_until_complete(self._send(method, **params))

    def evaluate(self, expression: str):
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def visit(self, url: str, expect: list[str], screenshot: Path, ready: str = "true", height: int = 1000,
              timeout: float = 40) -> str:
        """The page's visible text once every ``expect`` string is in it and the JS expression ``ready`` holds (or
        at the timeout), and a screenshot of a 1600 x ``height`` window."""
        self.send("Emulation.setDeviceMetricsOverride", width=1600, height=height, deviceScaleFactor=1, mobile=False)
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while True:
            time.sleep(0.5)
            text = self.evaluate("document.body ? document.body.innerText : ''") or ""
            if all(e in text for e in expect) and self.evaluate(ready) or time.monotonic() > deadline:
                break
        time.sleep(0.5)
        shot = self.send("Page.captureScreenshot", format="png")
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        return self.evaluate("document.body.innerText") or ""

    def close(self):
        if self.session is not None:
            self.loop.run_until_complete(self.session.close())
            self.loop.close()
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(scope="module")
def pages(chromium, store, ui, tmp_path_factory):
    """The visible text of the experiment page, a run page (reinit's Standard arm, shared with bias_correction),
    its artifacts and its metric charts; a screenshot of each (NAME.png)."""
    _, _, experiment_id, runs = store
    out = Path(os.environ.get("SUITE_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    out.mkdir(parents=True, exist_ok=True)
    standard = next(name for name, (_, arms) in runs.items() if arms.get("reinit") == "standard")
    run = f"{ui}/#/experiments/{experiment_id}/runs/{runs[standard][0]}"
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    browser = Browser(chromium, profile)
    try:
        text = {"experiment": browser.visit(f"{ui}/#/experiments/{experiment_id}{ML_VIEW}", list(runs),
                                            out / "experiment.png"),
                "run": browser.visit(f"{run}{ML_VIEW}", ["exp.reinit", "val_metric_name"], out / "run.png"),
                "artifacts": browser.visit(f"{run}/artifacts{ML_VIEW}", ["config.json"], out / "artifacts.png"),
                "metrics": browser.visit(f"{run}/model-metrics{ML_VIEW}", list(CURVES), out / "metrics.png",
                                         ready=f"{LINES} >= {len(CURVES)}", height=2000)}
        text["lines"] = browser.evaluate(LINES)
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return standard, text


def test_experiment_is_declared_a_training_experiment(store):
    _, client, experiment_id, _ = store
    key, kind = tracking.EXPERIMENT_KIND
    assert client.get_experiment(experiment_id).tags[key] == kind


def test_experiment_opens_on_its_runs_table_with_readable_names(store, pages):
    runs = store[3]
    _, text = pages
    page = text["experiment"]
    assert "Detect Issues" not in page, "the experiment opened on the GenAI traces overview, not on its runs"
    missing = [name for name in runs if name not in page]
    assert not missing, f"run names not in the runs table: {missing}\n{page[:2000]}"
    assert f"{len(runs)} matching runs" in page


def test_run_page_shows_experiment_arm_task_and_seeds(store, pages):
    runs = store[3]
    standard, text = pages
    page = text["run"]
    assert runs[standard][1] == {"bias_correction": "adamw", "reinit": "standard"}
    assert standard in page
    for key, value in [("exp.reinit", "standard"), ("exp.bias_correction", "adamw"), ("task", "RTE"),
                       ("init_seed", standard.split()[1][1:]), ("arms", "bias_correction:adamw,reinit:standard"),
                       ("val_metric_name", "accuracy")]:
        assert key in page and value in page, f"tag {key}={value} not on the run page:\n{page[:3000]}"


def test_run_keeps_its_artifacts_and_draws_its_curves(pages):
    _, text = pages
    for artifact in ("config.json", "curves.csv", "metrics.json"):
        assert artifact in text["artifacts"], f"{artifact} not listed:\n{text['artifacts'][:2000]}"
    for curve in CURVES:
        assert curve in text["metrics"], f"no {curve} chart:\n{text['metrics'][:2000]}"
    assert text["lines"] >= len(CURVES), f"{text['lines']} line charts: the curves are not drawn as lines"


def test_a_later_stage_adds_its_experiments_to_finished_runs(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = tracking.ensure_experiment(client, "revisiting-smoke", tmp_path / "mlartifacts")
    tags = {"trial_id": "t1", **tracking.membership_tags({"reinit": "standard"})}
    run_id = tracking.start_run(client, experiment_id, "RTE s1 standard", tags, {"lr": 2e-5, "llrd": None})
    assert client.get_run(run_id).data.params == {"lr": "2e-05"}  # unset fields are not params
    assert tracking.add_memberships(client, experiment_id, {"t1": {"longer": "standard", "reinit": "standard"}}) == 1
    assert tracking.add_memberships(client, experiment_id, {"t1": {"longer": "standard"}}) == 0  # already there
    tags = client.get_run(run_id).data.tags
    assert (tags["exp.reinit"], tags["exp.longer"]) == ("standard", "standard")
    assert (tags["experiments"], tags["arms"]) == ("longer,reinit", "longer:standard,reinit:standard")
