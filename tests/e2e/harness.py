"""Run the real thing: the installed package, Flask CLI and gunicorn, over HTTP on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY_TIMEOUT = 30.0
# What runs before gunicorn, as in docker-compose.yml (a unit test keeps the two in step).
SETUP_COMMANDS = {
    "auth_service": [("db", "upgrade"), ("keys", "init")],
    "resource_service": [("db", "upgrade")],
}


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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

    def start(self) -> None:
        """Start gunicorn and wait until /healthz answers."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--graceful-timeout", "5",
             f"{self.app}:create_app()"],
            cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        """Poll /healthz with a deadline; fail with the log if the process died."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready within {READY_TIMEOUT} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop gunicorn (SIGKILL for a crash) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if sig == signal.SIGKILL:
            # Killing the arbiter leaves its workers; they exit when they notice, or we end them.
            _kill_orphans(self.port)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def _kill_orphans(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            return
        subprocess.run(["pkill", "-KILL", "-f", f"127.0.0.1:{port}"], check=False)
        time.sleep(0.1)


@dataclass
class Stack:
    """The auth and resource services, set up the way the README and compose do it."""

    auth: Service
    resource: Service

    def stop(self) -> None:
        self.resource.stop()
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
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTH_", "RESOURCE_", "FLASK_"))
    }
    base["PYTHONPATH"] = str(site)
    issuer = f"http://127.0.0.1:{auth_port}"
    auth = Service(
        "auth", "auth_service", auth_port,
        {**base, "AUTH_ISSUER": issuer, **(auth_env or {})}, workdir, workers,
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
