#!/usr/bin/env python3
"""The two commands of tokenpair, needing nothing but Python 3.11+.

    python3 dev.py up      set up, then run both services on 127.0.0.1:8001 and :8002 (SQLite)
    python3 dev.py test    set up, then run ruff, mypy and the whole test suite

Both create ./.venv and install the project into it (again only when pyproject.toml changed).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
AUTH_PORT, RESOURCE_PORT = 8001, 8002
# Short enough to watch a token expire during the README walkthrough; production default is 300.
QUICKSTART_ACCESS_TOKEN_TTL = "30"


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (users run this with whatever python3 they have)
        sys.exit("tokenpair needs Python 3.11 or newer")
    if not argv or argv[0] not in ("up", "test"):
        print(__doc__)
        return 2
    setup()
    return up() if argv[0] == "up" else test(argv[1:])


def setup() -> None:
    """Create the virtual environment and install the project with its test tools."""
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / ".tokenpair-installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print("installing tokenpair and its dependencies into .venv ...", flush=True)
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--editable", ".[test]"])
    stamp.write_text(wanted)


def test(pytest_args: list[str]) -> int:
    """Run the linters, the type checker and the three rings of tests."""
    steps: list[list[str | Path]] = [
        [BIN / "ruff", "check", "."],
        [BIN / "ruff", "format", "--check", "."],
        [BIN / "mypy"],
        [
            BIN / "python",
            "-m",
            "pytest",
            *(pytest_args or ["--cov", "--cov-report=term:skip-covered"]),
        ],
    ]
    for step in steps:
        print(
            "$", " ".join(str(part) for part in step[:1]).rsplit("/", 1)[-1], *step[1:], flush=True
        )
        code = subprocess.call(step, cwd=ROOT)
        if code != 0:
            return code
    return 0


def up() -> int:
    """Migrate, create a signing key, and serve both services until Ctrl-C."""
    env = dict(os.environ)
    env.setdefault("AUTH_ACCESS_TOKEN_TTL", QUICKSTART_ACCESS_TOKEN_TTL)
    env.setdefault("RESOURCE_JWKS_URL", f"http://127.0.0.1:{AUTH_PORT}/.well-known/jwks.json")
    flask = BIN / "flask"
    run([flask, "--app", "auth_service", "db", "upgrade"], env=env)
    run([flask, "--app", "auth_service", "keys", "init"], env=env)
    run([flask, "--app", "resource_service", "db", "upgrade"], env=env)
    # `kill`, an IDE's stop button or a background start must stop both services like Ctrl-C
    # does, never leave them running on the ports.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    services = [
        serve("auth_service", AUTH_PORT, env),
        serve("resource_service", RESOURCE_PORT, env),
    ]
    try:
        for port in (AUTH_PORT, RESOURCE_PORT):
            wait_ready(port, services)
        print(
            f"\ntokenpair is up: auth http://127.0.0.1:{AUTH_PORT}  "
            f"resource http://127.0.0.1:{RESOURCE_PORT}  "
            f"(access tokens live {env['AUTH_ACCESS_TOKEN_TTL']} s). Ctrl-C stops both.\n",
            flush=True,
        )
        while all(service.poll() is None for service in services):
            time.sleep(0.5)
        print("a service stopped; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for service in services:
            if service.poll() is None:
                service.send_signal(signal.SIGTERM)
        for service in services:
            service.wait(timeout=30)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start gunicorn on one service's factory."""
    command: list[str | Path] = [
        BIN / "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", env.get("WEB_CONCURRENCY", "2"),
        "--config", "python:shared.gunicorn_conf",
        f"{app}:create_app()",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_ready(port: int, services: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """Poll /healthz until it answers, or fail if a service exits or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(service.poll() is not None for service in services):
            raise SystemExit(f"a service exited during start-up (port {port}); see above")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"port {port} did not answer within {timeout:.0f} s")


def run(command: list[str | Path], env: dict[str, str] | None = None) -> None:
    """Run a command in the project root; stop on failure."""
    subprocess.run([str(part) for part in command], cwd=ROOT, env=env, check=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
