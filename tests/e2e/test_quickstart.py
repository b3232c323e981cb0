"""``python3 dev.py`` as the README tells a new user to run it: help, ports, settings, CLI."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
import requests

from tests.e2e.harness import HTTP_TIMEOUT, ROOT, bearer, free_port
from tests.e2e.quickstart import clean_env, quickstart_copy, run_dev
from tests.support import STRONG_PASSWORD, random_name

UP_DEADLINE = 120.0  # set-up, migrations, a new RSA key and two gunicorns on a busy machine
CLI_MARKER = "<!-- command-line -->"


class Quickstart:
    """A running ``dev.py up`` in a copy of the project, on ports of its own."""

    def __init__(self, copy: Path, env: dict[str, str]) -> None:
        self.copy = copy
        self.auth_port, self.resource_port = free_port(), free_port()
        self.demo_port = free_port()
        self.log = copy / "up.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(copy / "dev.py"), "up", "--auth-port", str(self.auth_port),
                 "--resource-port", str(self.resource_port), "--demo-port", str(self.demo_port)],
                cwd=copy, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0,
            )  # fmt: skip

    @property
    def auth(self) -> str:
        return f"http://127.0.0.1:{self.auth_port}"

    @property
    def resource(self) -> str:
        return f"http://127.0.0.1:{self.resource_port}"

    def wait_up(self) -> None:
        """Wait for the line dev.py prints once both services answer."""
        deadline = time.monotonic() + UP_DEADLINE
        while time.monotonic() < deadline:
            if "tokenpair is up" in self.log.read_text():
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"dev.py up exited {self.process.returncode}:\n{self.output()}"
                )
            time.sleep(0.2)
        raise AssertionError(f"dev.py up not up within {UP_DEADLINE} s:\n{self.output()}")

    def stop(self) -> int:
        """Stop dev.py as `kill` would, and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


Starter = Callable[..., Quickstart]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return quickstart_copy(tmp_path / "tokenpair")


@pytest.fixture
def start(copy: Path) -> Iterator[Starter]:
    """Start ``dev.py up`` with extra settings; every one started is stopped afterwards."""
    started: list[Quickstart] = []

    def starter(**settings: str) -> Quickstart:
        quickstart = Quickstart(copy, clean_env(**settings))
        started.append(quickstart)
        quickstart.wait_up()
        return quickstart

    yield starter
    for quickstart in started:
        quickstart.stop()


def sign_in(quickstart: Quickstart) -> str:
    """Register and log in a new user; return the access token."""
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    registered = requests.post(
        f"{quickstart.auth}/auth/register", json=credentials, timeout=HTTP_TIMEOUT
    )
    assert registered.status_code == 201, registered.text
    login = requests.post(f"{quickstart.auth}/auth/login", json=credentials, timeout=HTTP_TIMEOUT)
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def test_up_on_moved_ports_issues_tokens_its_resource_service_accepts(start: Starter) -> None:
    quickstart = start()

    token = sign_in(quickstart)
    me = requests.get(f"{quickstart.resource}/api/me", headers=bearer(token), timeout=HTTP_TIMEOUT)

    # The issuer and the JWKS URL followed the auth service's port.
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == (
        f"http://localhost:{quickstart.auth_port}"
    )
    assert me.status_code == 200, me.text
    # The demo page on its own origin, which both services grant CORS.
    demo = f"http://localhost:{quickstart.demo_port}"
    page = requests.get(f"http://127.0.0.1:{quickstart.demo_port}/", timeout=HTTP_TIMEOUT)
    config = requests.get(f"{page.url}config.json", timeout=HTTP_TIMEOUT).json()
    assert "app.js" in page.text and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert config == {
        "auth": f"http://localhost:{quickstart.auth_port}",
        "resource": f"http://localhost:{quickstart.resource_port}",
    }
    for url in (f"{quickstart.auth}/auth/refresh", f"{quickstart.resource}/api/notes"):
        preflight = requests.options(
            url,
            headers={"Origin": demo, "Access-Control-Request-Method": "POST"},
            timeout=HTTP_TIMEOUT,
        )
        assert preflight.headers.get("Access-Control-Allow-Origin") == demo, url
    assert f"The demo page: {demo}/" in quickstart.log.read_text()
    # dev.py passes gunicorn no --no-control-socket: shared/gunicorn_conf.py turns it off, so
    # the two masters do not both claim gunicorn's one per-user socket path.
    assert "Control socket listening" not in quickstart.log.read_text()
    assert quickstart.stop() == 0, quickstart.output()
    ports = (quickstart.auth_port, quickstart.resource_port, quickstart.demo_port)
    assert not any(_listening(port) for port in ports), "a service outlived dev.py"


def test_up_with_a_key_file_uses_it_and_sets_no_jwks_url(copy: Path, start: Starter) -> None:
    env = clean_env()
    assert run_dev(copy, "flask", "auth_service", "keys", "init", env=env).returncode == 0
    public = run_dev(copy, "flask", "auth_service", "keys", "public", env=env)
    assert public.returncode == 0, public.stderr
    key_file = copy / "public-keys.json"
    key_file.write_text(public.stdout)

    quickstart = start(RESOURCE_PUBLIC_KEY_FILE=str(key_file))
    token = sign_in(quickstart)
    me = requests.get(f"{quickstart.resource}/api/me", headers=bearer(token), timeout=HTTP_TIMEOUT)

    assert me.status_code == 200, me.text
    assert "/.well-known/jwks.json" not in quickstart.output()  # nobody fetched the key set


def test_up_help_explains_the_command_and_starts_nothing(copy: Path) -> None:
    result = run_dev(copy, "up", "--help", env=clean_env())

    assert result.returncode == 0, result.stderr
    for word in ("--auth-port", "--resource-port", "TOKENPAIR_AUTH_PORT", "RESOURCE_JWKS_URL"):
        assert word in result.stdout
    assert result.stderr == ""
    assert not (copy / "var").exists()


@pytest.mark.parametrize(
    ("args", "shown"),
    [(["--help"], "python3 dev.py up"), (["up", "--help"], "--auth-port"),
     (["flask", "--help"], "auth_service")],
)  # fmt: skip
def test_help_works_on_a_python_without_the_dependencies(
    copy: Path, args: list[str], shown: str
) -> None:
    # -S: no site-packages, as in a fresh python3 before dev.py has created .venv.
    result = subprocess.run(
        [sys.executable, "-S", str(copy / "dev.py"), *args],
        cwd=copy, env=clean_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert shown in result.stdout
    assert result.stderr == ""
    assert not (copy / "var").exists()


def test_up_on_a_port_in_use_says_so_in_one_line(copy: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_dev(
            copy, "up", "--auth-port", str(port), "--resource-port", str(free_port()),
            env=clean_env(),
        )  # fmt: skip

    (line,) = result.stderr.splitlines()
    assert result.returncode != 0
    assert str(port) in line and "--auth-port" in line
    assert not (copy / "var").exists()


def test_up_refuses_one_port_for_both_services_in_one_line(copy: Path) -> None:
    port = str(free_port())
    result = run_dev(copy, "up", "--auth-port", port, "--resource-port", port, env=clean_env())

    (line,) = result.stderr.splitlines()
    assert result.returncode == 2
    assert port in line


def cli_script(readme: Path = ROOT / "README.md") -> str:
    """Return the ```sh block that follows the command-line marker line in the README."""
    lines = readme.read_text().splitlines()
    start = lines.index(CLI_MARKER) + 1
    assert lines[start] == "```sh", f"the line after {CLI_MARKER} must open a ```sh block"
    end = lines.index("```", start + 1)
    return "\n".join(lines[start + 1 : end]) + "\n"


def test_the_readme_command_line_instructions_run_as_written(copy: Path) -> None:
    assert shutil.which("bash"), "the README's commands need bash"
    script = copy / "commands.sh"
    script.write_text(cli_script())

    result = subprocess.run(
        ["bash", "-euo", "pipefail", str(script)],
        cwd=copy, env=clean_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert "kid" in result.stdout and "active" in result.stdout  # keys list
    assert "purged 0 sessions" in result.stdout
    assert '"keys"' in (copy / "var" / "public-keys.json").read_text()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
