"""The services as real local processes, set up and started as in production, and their databases.

Each service runs from the repository (``cwd``), configured only by environment variables,
migrated with the Flask CLI and served by ``gunicorn -c python:shared.gunicorn_conf``. The
benchmark (``bench/``) and the e2e ring (``tests/e2e/harness.py``, ``tests/support.py``) both
start services this way: free ports, the gunicorn command, polling until ready, PostgreSQL
databases have this one copy. Development tooling: not part of the wheel.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gunicorn
import psycopg
import requests
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
READY_TIMEOUT = 60.0
# gunicorn >= 25.1 opens a control socket under $HOME by default, shared by every instance.
HAS_CONTROL_SOCKET = gunicorn.version_info >= (25, 1)
# Settings of ours in the caller's environment must not leak into the services under test.
_OURS = ("AUTH_", "RESOURCE_", "FLASK_", "PROMETHEUS_", "GUNICORN_", "WEB_CONCURRENCY")


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gunicorn_command(factory: str, port: int, *options: str) -> list[str]:
    """Return the command that serves *factory* on a loopback *port*, as production runs it."""
    command = [str(BIN / "gunicorn"), "--config", "python:shared.gunicorn_conf",
               "--bind", f"127.0.0.1:{port}", *options]  # fmt: skip
    if HAS_CONTROL_SOCKET:
        command.append("--no-control-socket")
    return [*command, factory]


def wait_ready(
    name: str, process: subprocess.Popen[bytes], url: str, timeout: float, log: Callable[[], str]
) -> None:
    """Poll *url* until it answers 200; fail with the log if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited ({process.returncode}):\n{log()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or a worker still booting
        time.sleep(0.1)
    raise RuntimeError(f"{name} not ready within {timeout:.0f} s:\n{log()}")


def postgres_unavailable(admin_url: str) -> str | None:
    """Return why PostgreSQL at *admin_url* cannot be used, or None when it can."""
    try:
        with psycopg.connect(admin_url, connect_timeout=2):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL not reachable at {admin_url}: {type(error).__name__}"


def create_postgres_database(admin_url: str, prefix: str) -> str:
    """Create an empty PostgreSQL database named *prefix* + a random suffix; return its URL."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        try:
            # FILE_COPY (PostgreSQL 15+): several times faster than WAL_LOG for a small database.
            admin.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        except psycopg.errors.SyntaxError:
            admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop the database of *url*, whoever is still connected to it."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def service_env(workers: int, settings: Mapping[str, str]) -> dict[str, str]:
    """Return a clean environment with *settings* and WEB_CONCURRENCY=*workers*."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_OURS)}
    # The repository on the path: the bench's own factory is importable, like the services.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["WEB_CONCURRENCY"] = str(workers)
    env.update(settings)
    return env


@dataclass(frozen=True)
class FlaskCommand:
    """``flask --app <app> <args...>`` in a service's environment, as an operator runs it."""

    app: str
    args: tuple[str, ...]
    env: Mapping[str, str]


def run_flask(commands: list[FlaskCommand]) -> list[str]:
    """Run independent commands (each on its own database) side by side; return their outputs.

    Fail if any fails.
    """
    running = [
        (command, subprocess.Popen(
            [str(BIN / "flask"), "--app", command.app, *command.args],
            cwd=ROOT, env=dict(command.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        ))
        for command in commands
    ]  # fmt: skip
    failures, outputs = [], []
    for command, process in running:
        stdout, stderr = process.communicate(timeout=120)
        outputs.append(stdout)
        if process.returncode != 0:
            failures.append(f"flask --app {command.app} {' '.join(command.args)}:\n{stderr}")
    if failures:
        raise RuntimeError("\n".join(failures))
    return outputs


class Server:
    """One gunicorn master and its workers, serving one WSGI factory on a loopback port."""

    def __init__(self, name: str, factory: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.factory = factory
        self.env = dict(env)
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        # Each instance its own metrics folder (gunicorn_conf makes one in /tmp otherwise).
        metrics = log_dir / f"{name}-metrics"
        metrics.mkdir()
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start gunicorn without waiting for it (see wait_ready)."""
        with self.log_path.open("ab") as log:
            # Its own process group, so stopping it can never touch anything else.
            self.process = subprocess.Popen(
                gunicorn_command(self.factory, self.port), cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, process_group=0,
            )  # fmt: skip

    def wait_ready(self) -> None:
        assert self.process is not None
        wait_ready(self.name, self.process, f"{self.url}/readyz", READY_TIMEOUT, self.log)

    def terminate(self) -> None:
        """Ask gunicorn to stop (see wait)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        """Wait for gunicorn to stop; kill its process group if it hangs."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@contextmanager
def serving(servers: list[Server]) -> Iterator[None]:
    """Start the servers side by side, wait until all are ready, stop them all at the end."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_ready()
        yield
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()


class Databases:
    """Fresh databases: SQLite files in the bench's folder, PostgreSQL ones created and dropped."""

    def __init__(self, folder: Path, postgres_admin_url: str) -> None:
        self._folder = folder
        self.admin_url = postgres_admin_url
        self._created: list[str] = []

    def sqlite(self, name: str) -> str:
        """Return the URL of a new SQLite file."""
        return f"sqlite:///{self._folder / f'{name}.db'}"

    def postgres(self, name: str) -> str:
        """Create an empty PostgreSQL database; return its SQLAlchemy URL."""
        url = create_postgres_database(self.admin_url, f"tokenpair_bench_{name.replace('-', '_')}_")
        self._created.append(url)
        return url

    def drop_all(self) -> None:
        """Drop every PostgreSQL database this object created."""
        while self._created:
            drop_postgres_database(self.admin_url, self._created.pop())
