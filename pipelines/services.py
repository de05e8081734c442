"""Local services for a shared tracking store: PostgreSQL (Debian's server binaries, a data folder under runs/)
and the MLflow tracking server on top of it. Both bind 127.0.0.1 unless told otherwise; the database password
comes from the environment (POSTGRES_PASSWORD), never from a file in the repository.

    python -m pipelines.services postgres start|stop [--dir D] [--port P]
    python -m pipelines.services mlflow [--host H] [--port P]     (MLFLOW_BACKEND_STORE_URI, or the local one)
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.config import REPO_ROOT

DEFAULT_DIR = REPO_ROOT / "runs" / "postgres"
DEFAULT_PG_PORT = 5433  # not 5432: leaves a system PostgreSQL alone
USER = DATABASE = "mlflow"


class ServiceError(RuntimeError):
    """A service cannot start: the message says what is missing and how to provide it."""


def pg_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def ensure_installed() -> Path:
    """Debian's postgresql package, installed with apt-get when missing and we are root."""
    if pg_bin() is None:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise ServiceError("PostgreSQL server binaries not found under /usr/lib/postgresql; install Debian's "
                               "package: sudo apt-get install -y postgresql")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"], check=True,
                       env=env, stdout=subprocess.DEVNULL)
    return pg_bin()


def _as_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the package's postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _password() -> str:
    password = os.environ.get("POSTGRES_PASSWORD", "")
    if not password:
        raise ServiceError("set POSTGRES_PASSWORD in the environment (the local PostgreSQL's password for user "
                           f"{USER!r}); it is never written to the repository")
    return password


def postgres_uri(port: int = DEFAULT_PG_PORT, host: str = "127.0.0.1") -> str:
    """SQLAlchemy URI without the password: libpq reads it from PGPASSWORD."""
    return f"postgresql://{USER}@{host}:{port}/{DATABASE}"


def start_postgres(data_dir: Path = DEFAULT_DIR, port: int = DEFAULT_PG_PORT) -> str:
    """Initialise (first time) and start a PostgreSQL cluster on 127.0.0.1:port; returns its URI."""
    bin_dir = ensure_installed()
    password = _password()
    data_dir = Path(data_dir).resolve()
    if not (data_dir / "PG_VERSION").is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as fh:
            fh.write(password + "\n")
        try:
            if os.geteuid() == 0:
                shutil.chown(data_dir, "postgres", "postgres")
                shutil.chown(fh.name, "postgres", "postgres")
                if subprocess.run(_as_owner(["test", "-w", str(data_dir)])).returncode != 0:
                    raise ServiceError(f"the postgres user cannot reach {data_dir} (a parent folder is private); "
                                       f"choose a folder it can reach with --dir")
            subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", USER,
                                      "--auth=scram-sha-256", f"--pwfile={fh.name}", "-E", "UTF8"]),
                           check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            raise ServiceError(f"initdb failed in {data_dir}: {exc.stderr.strip().splitlines()[-1]}") from None
        finally:
            os.unlink(fh.name)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={data_dir}"
    result = subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-o", options,
                                       "-l", str(data_dir / "server.log"), "-w", "start"]),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"PostgreSQL did not start on 127.0.0.1:{port}; see {data_dir / 'server.log'}")
    env = {**os.environ, "PGPASSWORD": password}
    exists = subprocess.run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-d", "postgres",
                             "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                            env=env, capture_output=True, text=True, check=True)
    if exists.stdout.strip() != "1":
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
                       env=env, check=True)
    return postgres_uri(port)


def stop_postgres(data_dir: Path = DEFAULT_DIR) -> None:
    bin_dir = pg_bin()
    if bin_dir and (Path(data_dir) / "postmaster.pid").is_file():
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(Path(data_dir).resolve()), "-m", "fast",
                                  "-w", "stop"]), check=True, capture_output=True)


def mlflow_server_command(backend_uri: str, host: str, port: int, artifacts: Path,
                          allowed_hosts: str | None = None) -> list[str]:
    """``allowed_hosts``: Host headers MLflow's security middleware accepts (needed when clients use a name)."""
    mlflow = Path(sys.executable).with_name("mlflow")
    return [str(mlflow), "server", "--backend-store-uri", backend_uri, "--host", host, "--port", str(port),
            "--serve-artifacts", "--artifacts-destination", Path(artifacts).resolve().as_uri(), "--workers", "2",
            *(["--allowed-hosts", allowed_hosts] if allowed_hosts else [])]


def wait_for_http(url: str, timeout: float = 120.0) -> None:
    import urllib.request
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServiceError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.services")
    sub = parser.add_subparsers(dest="service", required=True)
    pg = sub.add_parser("postgres", help="a local PostgreSQL for the MLflow server")
    pg.add_argument("action", choices=["start", "stop"])
    pg.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    pg.add_argument("--port", type=int, default=DEFAULT_PG_PORT)
    ml = sub.add_parser("mlflow", help="the MLflow tracking server (foreground)")
    ml.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    ml.add_argument("--port", type=int, default=5001)
    ml.add_argument("--artifacts", type=Path, default=REPO_ROOT / "runs" / "mlartifacts")
    ml.add_argument("--allowed-hosts", help="Host headers to accept, e.g. mlflow:5001 (default: MLflow's)")
    args = parser.parse_args(argv)
    try:
        if args.service == "postgres" and args.action == "start":
            uri = start_postgres(args.dir, args.port)
            print(f"PostgreSQL running: {uri} (password: $POSTGRES_PASSWORD); stop with: make postgres-stop")
        elif args.service == "postgres":
            stop_postgres(args.dir)
        else:
            backend = os.environ.get("MLFLOW_BACKEND_STORE_URI") or postgres_uri()
            if backend.startswith("postgresql") and "PGPASSWORD" not in os.environ:
                os.environ["PGPASSWORD"] = _password()
            print(f"MLflow server on http://{args.host}:{args.port} over {backend.split('@')[-1]}; point the suite "
                  f"at it with MLFLOW_TRACKING_URI=http://{args.host}:{args.port}", flush=True)
            command = mlflow_server_command(backend, args.host, args.port, args.artifacts, args.allowed_hosts)
            os.execv(command[0], command)
        return 0
    except ServiceError as exc:
        print(f"services: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
