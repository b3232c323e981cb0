"""Run the real thing: the installed package, Flask CLI and gunicorn, over HTTP on loopback.

Free ports, the gunicorn command and polling until ready are ``devstack/__init__.py``'s, which the
benchmark uses too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

import devstack
from devstack import free_port
from tests.support import GENEROUS_ADDRESS_LIMITS, STRONG_PASSWORD, fresh_database, random_name

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY_TIMEOUT = 30.0
# What runs before gunicorn, as in docker-compose.yml (a unit test keeps the two in step).
SETUP_COMMANDS = {
    "auth_service": [("db", "upgrade"), ("keys", "init")],
    "resource_service": [("db", "upgrade")],
}


def base_env(site: Path) -> dict[str, str]:
    """Return this process's environment minus every setting of ours, importing from *site*."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "RESOURCE_", "FLASK_", "PROMETHEUS_"))
    }
    env["PYTHONPATH"] = str(site)
    return env


def gunicorn_command(app: str, port: int, workers: int = 2) -> list[str]:
    """Return the gunicorn command line that serves *app*'s factory on a loopback *port*."""
    options = ("--workers", str(workers), "--graceful-timeout", "5")
    return devstack.gunicorn_command(f"{app}:create_app()", port, *options)


def install_package(target: Path) -> Path:
    """Build tokenpair's wheel and install it (no dependencies: the venv has them) into *target*."""
    wheels = target / "wheels"
    site = target / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(ROOT)],
        check=True, cwd=target,
    )  # fmt: skip
    (wheel,) = wheels.glob("tokenpair-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True, cwd=target,
    )  # fmt: skip
    return site


@dataclass
class Service:
    """One gunicorn process of one service factory."""

    name: str
    app: str
    port: int
    env: dict[str, str]
    workdir: Path
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``flask --app <app> ...`` as an operator would, in the service's directory."""
        return subprocess.run(
            [str(BIN / "flask"), "--app", self.app, *args],
            cwd=self.workdir, env=self.env, capture_output=True, text=True, check=check,
            timeout=60,
        )  # fmt: skip

    def command(self) -> list[str]:
        """The command line that serves the service (tokenpair's gunicorn settings)."""
        return gunicorn_command(self.app, self.port, self.workers)

    def start(self) -> None:
        """Start gunicorn and wait until /healthz answers; never leave it running on failure."""
        with self.log_path.open("ab") as log:
            # Its own process group: a crash can kill master and workers at once, and only them.
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                process_group=0,
            )  # fmt: skip
        try:
            self.wait_ready()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise

    def wait_ready(self) -> None:
        """Poll /healthz with a deadline; fail with the log if the process died."""
        assert self.process is not None
        devstack.wait_ready(self.name, self.process, f"{self.url}/healthz", READY_TIMEOUT, self.log)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop gunicorn and wait for it; SIGKILL is a crash of master and workers together."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        # The master is not reaped yet, so its process group is still the one we started.
        if sig == signal.SIGKILL:
            _kill_group(process.pid)
        else:
            process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def run_to_exit(
    command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command that should exit by itself, output and errors merged; fail on a timeout."""
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        process_group=0,
    ) as process:  # fmt: skip
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)  # gunicorn's workers as well as the command itself
            output, _ = process.communicate()
            raise AssertionError(f"{command} still ran after {timeout} s:\n{output}") from None
    return subprocess.CompletedProcess(command, process.returncode, output)


def _kill_group(pgid: int) -> None:
    """SIGKILL gunicorn's master and its workers: the process group the master leads."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Stack:
    """The auth and resource services, set up the way the README and compose do it."""

    auth: Service
    resource: Service

    def stop(self) -> None:
        """Stop both services, the auth service even if stopping the resource service failed."""
        try:
            self.resource.stop()
        finally:
            self.auth.stop()


def make_stack(
    site: Path,
    workdir: Path,
    *,
    auth_env: dict[str, str] | None = None,
    resource_env: dict[str, str] | None = None,
    workers: int = 2,
) -> Stack:
    """Create a stack in *workdir* (SQLite under ./var, keys under ./var/keys) and start it."""
    workdir.mkdir(parents=True, exist_ok=True)
    auth_port, resource_port = free_port(), free_port()
    base = base_env(site)
    issuer = f"http://127.0.0.1:{auth_port}"
    auth = Service(
        "auth", "auth_service", auth_port,
        {**base, "AUTH_ISSUER": issuer, **GENEROUS_ADDRESS_LIMITS, **(auth_env or {})}, workdir,
        workers,
    )  # fmt: skip
    resource = Service(
        "resource", "resource_service", resource_port,
        {**base, "RESOURCE_ISSUER": issuer,
         "RESOURCE_JWKS_URL": f"{issuer}/.well-known/jwks.json", **(resource_env or {})},
        workdir, workers,
    )  # fmt: skip
    for service in (auth, resource):
        for args in SETUP_COMMANDS[service.app]:
            service.flask(*args)
    auth.start()
    try:
        resource.start()
    except Exception:
        auth.stop()
        raise
    return Stack(auth, resource)


# Fixtures parametrised with these run their tests on SQLite and on PostgreSQL.
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def running_stack(
    site: Path,
    workdir: Path,
    engine: str = "sqlite",
    *,
    auth_env: dict[str, str] | None = None,
    resource_env: dict[str, str] | None = None,
    workers: int = 2,
) -> Iterator[Stack]:
    """Run a stack on *engine*: SQLite files under ./var (the default), or two fresh PostgreSQL
    databases, dropped afterwards. Stops every process on the way out."""
    with (
        fresh_database(engine, workdir) as auth_url,
        fresh_database(engine, workdir) as resource_url,
    ):
        urls: tuple[dict[str, str], dict[str, str]] = ({}, {})
        if engine != "sqlite":
            urls = ({"AUTH_DATABASE_URL": auth_url}, {"RESOURCE_DATABASE_URL": resource_url})
        stack = make_stack(
            site,
            workdir / "work",
            auth_env={**urls[0], **(auth_env or {})},
            resource_env={**urls[1], **(resource_env or {})},
            workers=workers,
        )
        try:
            yield stack
        finally:
            stack.stop()


# Actions a client takes, shared by the tests. ---------------------------------------------

HTTP_TIMEOUT = 10


def bearer(access_token: str) -> dict[str, str]:
    """Return the Authorization header that presents *access_token*."""
    return {"Authorization": f"Bearer {access_token}"}


def sign_up(stack: Stack, *, scope: str | None = None) -> dict[str, Any]:
    """Register a new user and log in; return the token response plus ``username``."""
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    answer = requests.post(
        f"{stack.auth.url}/auth/register", json=credentials, timeout=HTTP_TIMEOUT
    )
    assert answer.status_code == 201, answer.text
    login = {**credentials, **({"scope": scope} if scope else {})}
    answer = requests.post(f"{stack.auth.url}/auth/login", json=login, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    return {**answer.json(), "username": credentials["username"]}


def refresh(stack: Stack, refresh_token: str) -> requests.Response:
    """Present *refresh_token* to the auth service's refresh endpoint."""
    return requests.post(
        f"{stack.auth.url}/auth/refresh",
        json={"refresh_token": refresh_token},
        timeout=HTTP_TIMEOUT,
    )
