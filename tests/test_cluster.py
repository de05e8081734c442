"""A real two-node Ray cluster on loopback (`ray start --head` plus a second `ray start --address`), a real
PostgreSQL (Debian's package, installed when missing) behind `python -m pipelines.services mlflow` (what
`make mlflow-server` runs): a smoke study runs through both, its trials land on both nodes, and every run is
in PostgreSQL."""
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from helpers import study_config, suite
from mlflow.tracking import MlflowClient
from pipelines.tracking import UI_ENV as NO_SERVER_JOBS

from pipelines import services


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A service in its own process group (stopped with its children at teardown)."""
    return subprocess.Popen(cmd, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)


def _alive_nodes(address: str, env: dict) -> int:
    probe = ("import ray; ray.init(address=%r, logging_level='ERROR', log_to_driver=False); "
             "print(sum(n['Alive'] for n in ray.nodes()))" % address)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else 0


def _node_started(proc: subprocess.Popen, log: Path, deadline: float) -> None:
    """Waits for `ray start --block` to say its node is up (it exits when the node fails to start)."""
    while "Ray runtime started." not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    pg_dir = Path(tempfile.mkdtemp(prefix="suite-pg-"))  # pytest's folders are private; postgres must reach it
    pg_dir.chmod(0o755)
    password = secrets.token_hex(12)
    env = {**os.environ, "POSTGRES_PASSWORD": password, "PGPASSWORD": password,
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_USAGE_STATS_ENABLED": "0"}
    pg_port, mlflow_port, ray_port = _free_port(), _free_port(), _free_port()
    os.environ["POSTGRES_PASSWORD"] = password
    try:
        backend = services.start_postgres(pg_dir / "data", pg_port)
    finally:
        del os.environ["POSTGRES_PASSWORD"]
    ray = str(Path(sys.executable).with_name("ray"))
    procs = []
    try:
        procs.append(_spawn([sys.executable, "-m", "pipelines.services", "mlflow", "--port", str(mlflow_port),
                             "--artifacts", str(root / "artifacts")],
                            {**env, "MLFLOW_BACKEND_STORE_URI": backend, **NO_SERVER_JOBS}, root / "mlflow.log"))
        procs.append(_spawn([ray, "start", "--head", "--block", f"--port={ray_port}", "--num-cpus=1",
                             "--include-dashboard=false", "--disable-usage-stats"], env, root / "head.log"))
        services.wait_for_http(f"http://127.0.0.1:{mlflow_port}/health")
        address = f"127.0.0.1:{ray_port}"
        deadline = time.monotonic() + 120
        _node_started(procs[-1], root / "head.log", deadline)
        procs.append(_spawn([ray, "start", "--block", f"--address={address}", "--num-cpus=1",
                             "--disable-usage-stats"], env, root / "worker.log"))
        _node_started(procs[-1], root / "worker.log", deadline)
        while _alive_nodes(address, env) < 2:  # both nodes joined, seen by a client as the study will see them
            assert time.monotonic() < deadline, (root / "worker.log").read_text()[-2000:]
            time.sleep(2)
        yield {"root": root, "env": env, "address": address, "tracking": f"http://127.0.0.1:{mlflow_port}",
               "pg_port": pg_port, "password": password}
    finally:
        # Every service's process group gets SIGTERM at once (Ray's raylet, GCS and agents, MLflow's workers); a
        # `ray start --block` itself then drains for 30 s before it exits: a test cluster need not wait for that.
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        services.stop_postgres(pg_dir / "data")
        shutil.rmtree(pg_dir, ignore_errors=True)


def test_smoke_study_runs_on_both_nodes_and_lands_in_postgres(cluster):
    config = study_config(cluster["root"])
    env = {**cluster["env"], "MLFLOW_TRACKING_URI": cluster["tracking"]}
    proc = suite(config, "reproduce", "revisiting", "--profile", "smoke", "--experiments", "bias_correction",
                 "--ray-address", cluster["address"], env=env)
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert "joined the Ray cluster at" in out and "2 node(s)" in out
    assert "trials: 8 ran, 0 reused, 0 failed" in out

    client = MlflowClient(cluster["tracking"])  # through the server
    exp = client.get_experiment_by_name("revisiting-smoke")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    assert len(runs) == 8 and {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["worker"].split("/")[1] for r in runs}) == 2  # trials ran on both nodes (host/node/pid)
    assert all(len(client.get_metric_history(r.info.run_id, "train_loss")) == int(r.data.metrics["steps"])
               for r in runs)

    with psycopg.connect(host="127.0.0.1", port=cluster["pg_port"], user="mlflow", dbname="mlflow",
                         password=cluster["password"]) as con:  # and in PostgreSQL itself
        status = dict(con.execute("SELECT r.status, count(*) FROM runs r JOIN experiments e "
                                  "ON r.experiment_id = e.experiment_id WHERE e.name = 'revisiting-smoke' "
                                  "GROUP BY r.status").fetchall())
        points = con.execute("SELECT count(*) FROM metrics m JOIN runs r ON m.run_uuid = r.run_uuid "
                             "WHERE m.key IN ('val_accuracy', 'val_spearman')").fetchone()[0]  # RTE, STS-B
    assert status == {"FINISHED": 8}
    assert points == 8 * 2  # two evaluations per smoke trial
    assert (cluster["root"] / "runs" / "reports" / "revisiting-smoke" / "report.md").is_file()
    assert not (cluster["root"] / "runs" / "mlflow.db").exists()  # nothing went to the local sqlite store


def test_unreachable_tracking_server_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    from pipelines.cli import main
    config = study_config(tmp_path)
    dead = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", dead)
    assert main(["run", "revisiting", "--profile", "smoke", "--experiments", "bias_correction",
                 "--config", str(config)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"suite: error: the MLflow tracking server at {dead} does not answer")
    assert "make mlflow-server" in line
