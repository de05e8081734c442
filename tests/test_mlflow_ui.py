"""The MLflow UI (`make ui`) serves a person looking for runs: a store written by pipelines.tracking, exactly as a
study writes it (tags, params, curves, artifacts) but with made-up numbers, served by `suite ui` and rendered by
headless Chromium. The link `suite ui` prints opens, in a fresh browser profile, the study's runs table (not
MLflow's GenAI traces); a person clicks a run, sees which experiment, arm, task and seeds it belongs to, goes back
and is still on the runs table. A run page opened straight from its address (a bookmark: no query) in a fresh
profile is the model-training run page too, and a person who switches to GenAI stays there. Its artifacts are listed
and its curves drawn under names that say what they measure. Every paper's run names are unique within its MLflow
experiment.

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

from helpers import study_config
from pipelines import tracking
from pipelines.config import load
from pipelines.driver import memberships
from pipelines.plan import make_plan
from trainers.config import eval_steps

ML_VIEW = "?" + tracking.ML_VIEW  # the model-training view, whatever this browser chose last
# the curves under their MLflow names (accuracy: RTE's metric), logged per step: drawn as lines
CURVES = ("train_loss", "learning_rate", "val_accuracy", "weight_change_l2/block_1")
LINES = "document.querySelectorAll('.scatterlayer .js-line').length"  # plotly line traces on the page
# the GenAI view: its experiment overview, its sidebar and a run page's place in it ("revisiting-smoke > Evaluations")
GENAI = ("Detect Issues", "Observability", "Evaluation runs")
VIEW_CHOICE = "localStorage.getItem('mlflow.workflowType_v1')"  # where MLflow's page keeps its view: JSON, or null
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
    pipelines.trial writes them, in the store of a suite.yaml whose runs go to a tmp folder (made as a study makes
    it, from cwd: it must not leave MLflow's mlruns/ there); the Standard arm of reinit shares its trials with
    bias_correction's adamw arm. (suite.yaml, runs folder, client, experiment id, {run name: (run id, arms)})"""
    root = tmp_path_factory.mktemp("ui")
    config = study_config(root)
    runs_dir = load(config).runs_dir
    uri = tracking.tracking_uri(runs_dir)
    tracking.seed_store(uri)
    plan = make_plan(load(), "revisiting", "smoke", ["bias_correction", "reinit"])
    client = MlflowClient(uri)
    experiment_id = tracking.ensure_experiment(client, "revisiting-smoke", runs_dir / "mlartifacts")
    arms = memberships(plan)
    runs = {}
    for k, spec in enumerate(s for s in plan.unique() if s.config.task == "RTE"):
        tags = {**spec.tags(), **tracking.membership_tags(arms[spec.trial_id]), "paper": "revisiting",
                "profile": "smoke", "git_commit": "0" * 40, "data_sha256": "0" * 16, "worker": f"host/node/{k}"}
        run_id = tracking.start_run(client, experiment_id, spec.name, tags,
                                    tracking.config_params(spec.config.to_dict()),
                                    config={"trial_id": spec.trial_id, "run_name": spec.name,
                                            "config": spec.config.to_dict(), "tags": tags},
                                    provenance={"packages": {"mlflow": "x"}, "worker_pid": k})
        tracking.finish_run(client, run_id, _fake_result(spec, k))
        tracking.log_worker_memory(client, run_id, 700.0, 650.0)
        runs[spec.name] = (run_id, arms[spec.trial_id])
    return config, runs_dir, client, experiment_id, runs


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ui(store):
    """`suite ui` (`make ui`) over the store: (its base URL, the links it printed: {experiment: link}); stopped
    (with its workers) at the end."""
    config, runs_dir = store[:2]
    port = _free_port()
    log_path = runs_dir / "ui.log"
    log = open(log_path, "w")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port), "--config",
                             str(config)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"suite ui did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.5)
        printed = [line.split(": ", 1) for line in log_path.read_text().splitlines() if "(" in line and ": http" in line]
        yield url, {name.split(" (")[0]: link for name, link in printed}
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
        return self.shown(expect, screenshot, ready, timeout)

    def click(self, text: str, what: str = "a") -> None:
        """A click on the link (or the elements ``what`` selects) showing ``text``, as a person's: the page's own
        router handles it."""
        found = self.evaluate(f"(() => {{ const a = [...document.querySelectorAll({json.dumps(what)})].find("
                              f"a => a.innerText.trim() === {json.dumps(text)}); if (a) a.click(); return !!a; }})()")
        assert found, f"no {what} {text!r} on {self.evaluate('location.href')}"

    def reopen(self, url: str, expect: list[str], screenshot: Path) -> str:
        """``url`` loaded anew, as from a bookmark or a new tab (not the page's router: a hash change would be)."""
        self.send("Page.navigate", url="about:blank")
        return self.visit(url, expect, screenshot)

    def back(self) -> None:
        """The browser's Back button."""
        self.evaluate("history.back()")

    def shown(self, expect: list[str], screenshot: Path, ready: str = "true", timeout: float = 40) -> str:
        """The visible text once every ``expect`` string is in it and ``ready`` holds (or at the timeout)."""
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
def screens(tmp_path_factory) -> Path:
    """Where screenshots go: $SUITE_UI_SCREENSHOTS when set (to look at them), else a tmp folder."""
    out = Path(os.environ.get("SUITE_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _standard(runs: dict) -> str:
    """The run of reinit's Standard arm (shared with bias_correction's adamw arm)."""
    return next(name for name, (_, arms) in runs.items() if arms.get("reinit") == "standard")


def _tags(standard: str) -> list[tuple[str, str]]:
    """What the Standard run's page says of it: the experiments and arms it is in, its task, seed and metric."""
    return [("exp.reinit", "standard"), ("exp.bias_correction", "adamw"), ("task", "RTE"),
            ("init_seed", standard.split()[1][1:]), ("val_metric_name", "accuracy")]


@pytest.fixture(scope="module")
def pages(chromium, store, ui, screens):
    """What a person sees, in a fresh browser profile: the experiment page behind the link `suite ui` printed, a run
    page reached by clicking a run (reinit's Standard arm, shared with bias_correction), the page Back returns to,
    then the run's artifacts and metric charts; their visible text, URL and a screenshot each (NAME.png)."""
    runs, experiment_id = store[4], store[3]
    base, links = ui
    out, standard = screens, _standard(runs)
    run = f"{base}/#/experiments/{experiment_id}/runs/{runs[standard][0]}"
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    browser = Browser(chromium, profile)
    text, where = {}, {}
    try:
        text["experiment"] = browser.visit(links["revisiting-smoke"], list(runs), out / "experiment.png")
        where["experiment"] = browser.evaluate("location.href")
        browser.click(standard)
        text["run"] = browser.shown(["exp.reinit", "val_metric_name"], out / "run.png")
        where["run"] = browser.evaluate("location.href")
        browser.back()
        text["back"] = browser.shown(list(runs), out / "back.png")
        where["back"] = browser.evaluate("location.href")
        text["artifacts"] = browser.visit(f"{run}/artifacts{ML_VIEW}", ["config.json"], out / "artifacts.png")
        text["metrics"] = browser.visit(f"{run}/model-metrics{ML_VIEW}", list(CURVES), out / "metrics.png",
                                        ready=f"{LINES} >= {len(CURVES)}", height=2000)
        text["lines"] = browser.evaluate(LINES)
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return standard, text, where


@pytest.fixture(scope="module")
def bookmarked(chromium, store, ui, screens):
    """A person with a bookmark, in another fresh browser profile: the Standard run's page opened from its address
    (no query), the experiment's (no query), then the run's again after they switched the view to GenAI in the
    sidebar; the visible text, the view the browser keeps and a screenshot of each (bookmark-NAME.png)."""
    runs, experiment_id = store[4], store[3]
    base = ui[0]
    run = f"{base}/#/experiments/{experiment_id}/runs/{runs[_standard(runs)][0]}"
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    browser = Browser(chromium, profile)
    text, kept = {}, {}
    try:
        text["run"] = browser.visit(run, ["exp.reinit", "val_metric_name"], screens / "bookmark-run.png")
        kept["run"] = browser.evaluate(VIEW_CHOICE)
        text["experiment"] = browser.reopen(f"{base}/#/experiments/{experiment_id}", list(runs),
                                            screens / "bookmark-experiment.png")
        browser.click("GenAI", what="[role=button]")  # the sidebar's GenAI / Model training switch
        browser.shown(["Observability"], screens / "bookmark-switched.png")
        text["genai"] = browser.reopen(run, ["exp.reinit", "Evaluation runs"], screens / "bookmark-genai.png")
        kept["genai"] = browser.evaluate(VIEW_CHOICE)
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    return text, kept


def test_experiment_is_declared_a_training_experiment(store):
    client, experiment_id = store[2], store[3]
    key, kind = tracking.EXPERIMENT_KIND
    assert client.get_experiment(experiment_id).tags[key] == kind


def test_suite_ui_prints_a_link_to_each_studys_runs_in_the_training_view(store, ui):
    experiment_id = store[3]
    base, links = ui
    assert links == {"revisiting-smoke": f"{base}/#/experiments/{experiment_id}?workflowType=machine_learning"}


def test_suite_ui_on_a_taken_port_says_so_before_printing_links(store, ui):
    port = int(ui[0].rsplit(":", 1)[1])  # the running `suite ui`'s
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "ui", "--port", str(port), "--config", str(store[0])],
                          env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, ""), done
    assert done.stderr == (f"suite: error: port {port} on 127.0.0.1 is taken (another `make ui`?): choose a free one, "
                           "`make ui UI_PORT=5001` or `suite ui --port 5001`\n"), done.stderr


def test_the_printed_link_opens_the_runs_table_with_readable_names(store, pages):
    runs = store[4]
    _, text, where = pages
    page = text["experiment"]
    assert not [g for g in GENAI if g in page], f"the link opened the GenAI view, not the runs:\n{page[:2000]}"
    missing = [name for name in runs if name not in page]
    assert not missing, f"run names not in the runs table: {missing}\n{page[:2000]}"
    assert f"{len(runs)} matching runs" in page and "workflowType=machine_learning" in where["experiment"]


def test_a_click_on_a_run_shows_its_experiment_arm_task_and_seeds(store, pages):
    runs = store[4]
    standard, text, where = pages
    page = text["run"]
    assert runs[standard][1] == {"bias_correction": "adamw", "reinit": "standard"}
    assert f"/runs/{runs[standard][0]}" in where["run"] and standard in page
    assert not [g for g in GENAI if g in page], f"the run page is in the GenAI view:\n{page[:2000]}"
    for key, value in _tags(standard):
        assert key in page and value in page, f"tag {key}={value} not on the run page:\n{page[:3000]}"
    for clutter in ("arms", "ray_node_id", "node_ip", "worker_pid", "exec.", "version.", "objective_args"):
        assert clutter not in page.split(), f"{clutter} still on the run page"


def test_back_from_a_run_is_the_runs_table_again_not_traces(store, pages):
    runs = store[4]
    _, text, where = pages
    page = text["back"]
    assert not [g for g in GENAI if g in page], f"Back left the model-training view:\n{page[:2000]}"
    assert all(name in page for name in runs) and f"{len(runs)} matching runs" in page, page[:2000]
    assert "workflowType=genai" not in where["back"], where["back"]


def test_a_run_opened_from_its_address_in_a_fresh_browser_is_the_training_run_page(store, bookmarked):
    runs = store[4]
    text, kept = bookmarked
    page = text["run"]
    assert not [g for g in GENAI if g in page], f"the run page opened in the GenAI view:\n{page[:2000]}"
    standard = _standard(runs)
    for key, value in _tags(standard):
        assert key in page and value in page, f"tag {key}={value} not on the run page:\n{page[:3000]}"
    assert "Model registry" in page and kept["run"] == '"machine_learning"', kept  # the training view's sidebar
    page = text["experiment"]  # its address without the query: the runs, not the GenAI overview
    assert not [g for g in GENAI if g in page] and f"{len(runs)} matching runs" in page, page[:2000]


def test_a_person_who_switches_to_genai_keeps_it(bookmarked):
    text, kept = bookmarked
    assert kept["genai"] == '"genai"', kept
    assert "Evaluation runs" in text["genai"] and "exp.reinit" in text["genai"], text["genai"][:2000]


def test_run_keeps_its_artifacts_and_draws_its_curves(pages):
    _, text, _ = pages
    for artifact in ("config.json", "provenance.json", "curves.csv", "metrics.json"):
        assert artifact in text["artifacts"], f"{artifact} not listed:\n{text['artifacts'][:2000]}"
    for curve in CURVES:
        assert curve.split("/")[-1] in text["metrics"], f"no {curve} chart:\n{text['metrics'][:2000]}"
    assert text["lines"] >= len(CURVES), f"{text['lines']} line charts: the curves are not drawn as lines"


def test_metrics_say_what_they_measure_and_the_frame_keeps_its_names(store):
    """MLflow holds val_accuracy, learning_rate, weight_change_l2/block_1 and system/ memory, no val_last beside the
    val curve's last point; the runs frame and curve loader that reports read keep their names."""
    client, experiment_id, runs = store[2:]
    run_id = next(iter(runs.values()))[0]
    logged = set(client.get_run(run_id).data.metrics)
    assert {"val_accuracy", "best_val_accuracy", "test_accuracy_at_best_val", "test_accuracy_last", "learning_rate",
            "weight_change_l2/block_1", "system/worker_rss_megabytes"} <= logged
    assert not logged & {"val_metric", "val_last", "best_val", "lr_schedule", "l2_block_1", "worker_rss_mb"}
    frame = tracking.runs_frame(client, experiment_id)
    row = frame[frame["run_id"] == run_id].iloc[0]
    assert row["val_last"] == row["val_metric"] == client.get_metric_history(run_id, "val_accuracy")[-1].value
    assert {"best_val", "test_at_best_val", "test_last", "lr_schedule", "l2_block_1", "worker_rss_mb"} <= set(row.index)
    assert not {"val_accuracy", "learning_rate", "system/worker_rss_megabytes"} & set(frame.columns)
    history = tracking.metric_histories(client, {"t": run_id}, "val_metric")["t"]
    assert history == [(m.step, m.value) for m in client.get_metric_history(run_id, "val_accuracy")]
    assert tracking.metric_histories(client, {"t": run_id}, "l2_block_1")["t"][-1] == (12, 0.12)


def test_a_store_of_earlier_names_reads_the_same():
    """Stores written before the MLflow names changed still report: their names are the frame's."""
    old = {"val_metric": 0.6, "val_last": 0.6, "best_val": 0.7, "lr_schedule": 0.0, "l2_block_2": 0.3,
           "val_sst": 0.5, "val_last_sst": 0.5, "worker_rss_mb": 700.0, "test_at_best_val": 0.65, "test_last": 0.6}
    assert tracking.frame_metrics(old, "accuracy") == old


def test_a_multitask_run_logs_its_pools_and_its_per_task_scores_apart(tmp_path):
    """val_sst at the best step beside curve val_sst (one name in MLflow kept only the curve's last point); params
    that say the pools it trained on, each objective argument its own param."""
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = tracking.ensure_experiment(client, "m", tmp_path / "mlartifacts")
    config = {"task": "minBERT", "train_examples": 32, "part_examples": (("sts", 8),),
              "objective_args": (("alpha", 0.5), ("temperature", 2.0)), "multitask_args": (("train_tasks", "sst+sts"),)}
    params = tracking.config_params(config, {"sst": 32, "sts": 8})
    run_id = tracking.start_run(client, experiment_id, "minBERT s1", {"trial_id": "t", "val_metric_name": "dev_score"},
                                params)
    assert client.get_run(run_id).data.params == {
        "task": "minBERT", "train_examples.sst": "32", "train_examples.sts": "8", "objective.alpha": "0.5",
        "objective.temperature": "2.0", "multitask.train_tasks": "sst+sts"}
    result = {"outcome": "finished", "curves": {"val_metric": [(2, 0.4), (4, 0.3)], "val_sst": [(2, 0.5), (4, 0.2)]},
              "metrics": {"best_val": 0.4, "val_last": 0.3, "val_sst": 0.5, "val_last_sst": 0.2, "train_examples": 40}}
    tracking.finish_run(client, run_id, result)
    row = tracking.runs_frame(client, experiment_id).iloc[0]
    assert (row["val_sst"], row["val_last_sst"], row["best_val"], row["val_last"]) == (0.5, 0.2, 0.4, 0.3)
    assert {"val_sst_at_best_val", "val_dev_score"} <= set(client.get_run(run_id).data.metrics)


def test_run_names_are_unique_in_each_papers_experiment():
    """Every paper of suite.yaml at smoke and cpu: planned trials and the stand-ins of skipped and later stages."""
    config = load()
    for paper in config.data["papers"]:
        for profile in ("smoke", "cpu"):
            plan = make_plan(config, paper, profile)
            named = {}
            for spec in [*plan.unique(), *(s for specs in plan.estimates.values() for s in specs)]:
                named.setdefault(spec.trial_id, spec.name)
            shared = {n for n in named.values() if list(named.values()).count(n) > 1}
            assert not shared, f"{paper}-{profile}: several trials named {sorted(shared)[:3]}"


def test_a_later_stage_adds_its_experiments_to_finished_runs(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment_id = tracking.ensure_experiment(client, "revisiting-smoke", tmp_path / "mlartifacts")
    tags = {"trial_id": "t1", **tracking.membership_tags({"reinit": "standard"}), "arms": "reinit:standard"}
    run_id = tracking.start_run(client, experiment_id, "RTE s1 standard", tags, {"lr": 2e-5, "llrd": None})
    assert client.get_run(run_id).data.params == {"lr": "2e-05"}  # unset fields are not params
    assert tracking.add_memberships(client, experiment_id, {"t1": {"longer": "standard", "reinit": "standard"}}) == 1
    assert tracking.add_memberships(client, experiment_id, {"t1": {"longer": "standard"}}) == 0  # already there
    tags = client.get_run(run_id).data.tags
    assert (tags["exp.reinit"], tags["exp.longer"], tags["experiments"]) == ("standard", "standard", "longer,reinit")
    assert "arms" not in tags  # an earlier version's list of the exp.* tags, gone rather than stale


def test_no_mlruns_and_no_default_experiment_outside_the_runs_folder(store, ui):
    """MLflow's Default experiment (id 0, in every store) keeps its artifacts under the runs folder, and neither a
    store being made nor `suite ui` leaves an mlruns/ folder in the current one."""
    runs_dir, client = store[1], store[2]
    default = client.get_experiment("0")
    assert default.artifact_location.startswith(runs_dir.as_uri()), default.artifact_location
    assert not (Path.cwd() / "mlruns").exists() and not (runs_dir.parent / "mlruns").exists()
