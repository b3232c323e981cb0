#!/usr/bin/env python3
"""The commands of tokenpair, needing nothing but Python 3.11+.

    python3 dev.py up [--auth-port 8001] [--resource-port 8002] [--demo-port 8003]
                            set up, then run both services on 127.0.0.1 (SQLite) and the
                            demo page until Ctrl-C
    python3 dev.py flask auth_service|resource_service COMMAND ...
                            run a Flask CLI command (keys list, db upgrade, ...) in the
                            quickstart's environment
    python3 dev.py test [PYTEST ARGS ...]
                            set up, then run ruff, mypy and the test suite
    python3 dev.py conformance --auth-url URL --resource-url URL [--ca-file PEM] ...
                            set up, then check a running deployment against the contract
                            over HTTP (python -m tests.conformance), one line per area

Each sets up ./.venv first (installing the project again only when pyproject.toml changed).
`python3 dev.py up --help` and `python3 dev.py flask --help` tell more.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# Standard library only, like this file: it reads the process variables before .venv exists.
from demo.server import start_demo_server  # noqa: E402
from shared.config import APP_LOAD_ERROR, ConfigError, Env, ProcessSettings  # noqa: E402

VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
SERVICES = ("auth_service", "resource_service")
DEFAULT_PORTS = {"auth": 8001, "resource": 8002, "demo": 8003}
PORT_VARIABLES = {
    "auth": "TOKENPAIR_AUTH_PORT",
    "resource": "TOKENPAIR_RESOURCE_PORT",
    "demo": "TOKENPAIR_DEMO_PORT",
}
# Short enough to watch a token expire during the README walkthrough; production default is 300.
QUICKSTART_ACCESS_TOKEN_TTL = "30"
READY_TIMEOUT = 30.0

UP_HELP = """\
Set up .venv, check every setting of both services, migrate both SQLite databases under
./var, create a signing key in ./var/keys if there is none, then serve the auth and the
resource service on 127.0.0.1 under gunicorn (WEB_CONCURRENCY workers each), and the demo
page (demo/) on http://localhost:<demo port>, until Ctrl-C.

The quickstart's environment is yours, plus a value for each of these you did not set:
  AUTH_ACCESS_TOKEN_TTL=30       short enough to watch a token expire
  AUTH_ISSUER=http://localhost:<auth port>
  RESOURCE_ISSUER=<AUTH_ISSUER>  and RESOURCE_AUDIENCE=<AUTH_AUDIENCE> when you set that
  RESOURCE_JWKS_URL=http://127.0.0.1:<auth port>/.well-known/jwks.json
                                 only when neither it nor RESOURCE_PUBLIC_KEY_FILE is set
  AUTH_BROWSER_ORIGINS=http://localhost:<demo port>   and RESOURCE_CORS_ORIGINS the same:
                                 the demo page may use both services
A setting you gave is never replaced. `python3 dev.py flask ...` runs a Flask CLI command in
the same environment (give it the same ports)."""

FLASK_HELP = """\
Run `flask --app SERVICE ARGS ...` from the project root in the quickstart's environment
(see `python3 dev.py up --help`), e.g. `python3 dev.py flask auth_service keys list`."""


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (users run this with whatever python3 they have)
        sys.exit("tokenpair needs Python 3.11 or newer")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "test":
            setup()
            return test(rest)
        if command == "up":
            return up(parse_up(rest))
        if command == "flask":
            return flask(parse_flask(rest))
        if command == "conformance":
            setup()
            # The kit's own entry point, the one compose's conformance service runs.
            return subprocess.call([BIN / "python", "-m", "tests.conformance", *rest], cwd=ROOT)
    except KeyboardInterrupt:
        return 130
    print(f"dev.py: unknown command {command!r}; see: python3 dev.py --help", file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other failure here."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, got {text!r}")
    return port


def _port_options(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    env = Env(environ)
    for service, variable in PORT_VARIABLES.items():
        try:
            default = env.integer(variable, DEFAULT_PORTS[service], minimum=1, maximum=65535)
        except ConfigError as error:
            parser.exit(2, f"{parser.prog}: {error}\n")
        parser.add_argument(
            f"--{service}-port",
            type=_port,
            default=default,
            metavar="PORT",
            help=f"port of the {service} {'page' if service == 'demo' else 'service'} on "
            f"127.0.0.1 (default: ${variable}, else {DEFAULT_PORTS[service]})",
        )


def parse_up(argv: list[str], environ: Mapping[str, str] = os.environ) -> argparse.Namespace:
    """Parse the options of ``up``."""
    parser = _Parser(
        prog="python3 dev.py up",
        description=UP_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _port_options(parser, environ)
    options = parser.parse_args(argv)
    if options.auth_port == options.resource_port:
        parser.error(f"the two services need two ports, got {options.auth_port} for both")
    if options.demo_port in (options.auth_port, options.resource_port):
        parser.error(f"the demo page needs a port of its own, got {options.demo_port} twice")
    return options


def parse_flask(argv: list[str], environ: Mapping[str, str] = os.environ) -> argparse.Namespace:
    """Parse the options of ``flask``: ports, the service, then the Flask command itself."""
    parser = _Parser(
        prog="python3 dev.py flask",
        description=FLASK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _port_options(parser, environ)
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the Flask command and its options")
    return parser.parse_args(argv)


def quickstart_env(
    environ: Mapping[str, str],
    auth_port: int = 8001,
    resource_port: int = 8002,
    demo_port: int = 8003,
) -> dict[str, str]:
    """Return the quickstart's environment: *environ* plus a default for each setting it lacks."""
    env = dict(environ)

    def given(name: str) -> bool:
        return bool(env.get(name, "").strip())  # the services read a blank value as unset

    def default(name: str, value: str) -> None:
        if not given(name):
            env[name] = value

    default("AUTH_ACCESS_TOKEN_TTL", QUICKSTART_ACCESS_TOKEN_TTL)
    default("AUTH_ISSUER", f"http://localhost:{auth_port}")
    # The resource service demands what the auth service issues.
    default("RESOURCE_ISSUER", env["AUTH_ISSUER"])
    if given("AUTH_AUDIENCE"):
        default("RESOURCE_AUDIENCE", env["AUTH_AUDIENCE"])
    # Exactly one key source: a key file the user chose replaces the JWKS URL.
    if not given("RESOURCE_PUBLIC_KEY_FILE"):
        default("RESOURCE_JWKS_URL", f"http://127.0.0.1:{auth_port}/.well-known/jwks.json")
    # The demo page's origin: localhost like the issuer, so page and services are one site
    # (ports do not count) and the SameSite=Strict cookie flows between them.
    default("AUTH_BROWSER_ORIGINS", demo_origin(demo_port))
    default("RESOURCE_CORS_ORIGINS", demo_origin(demo_port))
    return env


def demo_origin(port: int) -> str:
    """Return the origin the quickstart serves the demo page on."""
    return f"http://localhost:{port}"


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


# pytest-xdist: each test file runs whole in one of these processes (its module fixtures, the
# stacks, stay one per file). The e2e ring mostly waits on real processes and on clocks (tokens
# that must expire), so three processes overlap those waits even on two cores.
PARALLEL = ["--numprocesses", str(max(3, os.cpu_count() or 1)), "--dist", "loadfile"]


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
            *(pytest_args or [*PARALLEL, "--cov", "--cov-report=term:skip-covered"]),
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


def flask(options: argparse.Namespace) -> int:
    """Run one Flask CLI command of a service in the quickstart's environment."""
    env = quickstart_env(os.environ, options.auth_port, options.resource_port, options.demo_port)
    setup()
    return subprocess.call(
        [BIN / "flask", "--app", options.service, *options.args], cwd=ROOT, env=env
    )


def up(options: argparse.Namespace) -> int:
    """Check, migrate, create a signing key, and serve both services until Ctrl-C."""
    ports = {"auth_service": options.auth_port, "resource_service": options.resource_port}
    env = quickstart_env(os.environ, options.auth_port, options.resource_port, options.demo_port)
    try:
        ProcessSettings.from_env(env)
    except ConfigError as error:
        print(f"dev.py up: configuration error: {error}", file=sys.stderr)
        return APP_LOAD_ERROR
    for app, port in {**ports, "demo_page": options.demo_port}.items():
        if port_in_use(port):
            print(
                f"dev.py up: port {port} ({app}) is in use on 127.0.0.1; stop what holds it, "
                f"or move the service with --{app.split('_')[0]}-port",
                file=sys.stderr,
            )
            return 1
    setup()
    # Every setting of both services first: a bad one stops everything with its one line,
    # before either store is touched or either service prints its start-up log.
    for app in SERVICES:
        check_settings(app, env)
    run_step([BIN / "flask", "--app", "auth_service", "db", "upgrade"], env)
    run_step([BIN / "flask", "--app", "auth_service", "keys", "init"], env)
    run_step([BIN / "flask", "--app", "resource_service", "db", "upgrade"], env)
    # `kill`, an IDE's stop button or a background start must stop both services like Ctrl-C
    # does, never leave them running on the ports.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    services: dict[str, subprocess.Popen[bytes]] = {}
    demo = None
    try:
        for app, port in ports.items():
            services[app] = serve(app, port, env)
            failure = wait_ready(app, port, services[app])
            if failure is not None:
                if failure:  # else the service said why, in its one line
                    print(f"dev.py up: {failure}", file=sys.stderr)
                return 1
        demo = start_demo_server(
            "127.0.0.1",
            options.demo_port,
            f"http://localhost:{options.auth_port}",
            f"http://localhost:{options.resource_port}",
        )
        print(
            f"\ntokenpair is up: auth http://127.0.0.1:{options.auth_port}  "
            f"resource http://127.0.0.1:{options.resource_port}  "
            f"(access tokens live {env['AUTH_ACCESS_TOKEN_TTL']} s). Ctrl-C stops both.\n"
            f"The demo page: {demo_origin(options.demo_port)}/\n",
            flush=True,
        )
        while all(service.poll() is None for service in services.values()):
            time.sleep(0.5)
        print("dev.py up: a service stopped; shutting down", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if demo is not None:
            demo.shutdown()
            demo.server_close()
        for service in services.values():
            if service.poll() is None:
                service.send_signal(signal.SIGTERM)
        for service in services.values():
            service.wait(timeout=30)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def port_in_use(port: int) -> bool:
    """Return whether something already listens on 127.0.0.1:*port*."""
    with socket.socket() as probe:
        # As gunicorn binds: a connection of an earlier run in TIME_WAIT does not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_settings(app: str, env: dict[str, str]) -> None:
    """Load *app* as gunicorn would (``--check-config``), without serving; stop on failure."""
    metrics = tempfile.mkdtemp(prefix="tokenpair-check-")
    try:
        run_step(
            [BIN / "gunicorn", "--check-config", "--config", "python:shared.gunicorn_conf",
             f"{app}:create_app()"],
            {**env, "PROMETHEUS_MULTIPROC_DIR": metrics},
        )  # fmt: skip
    finally:
        shutil.rmtree(metrics, ignore_errors=True)


def serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start gunicorn on one service's factory (workers and timeouts: shared/gunicorn_conf.py)."""
    # shared.serve checks WEB_CONCURRENCY and the other process settings before gunicorn starts.
    command: list[str | Path] = [
        BIN / "python", "-m", "shared.serve", app, "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_ready(
    app: str, port: int, service: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT
) -> str | None:
    """Poll /healthz until it answers, else return what went wrong ("" when it said so itself)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = service.poll()
        if code == APP_LOAD_ERROR:
            return ""
        if code is not None:
            return f"{app} exited during start-up with status {code}; its log is above"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return None
        except OSError:
            time.sleep(0.2)
    return f"{app} did not answer on port {port} within {timeout:.0f} s; its log is above"


def run(command: list[str | Path], env: dict[str, str] | None = None) -> None:
    """Run a command in the project root; on failure exit with its status (it said why)."""
    code = subprocess.call([str(part) for part in command], cwd=ROOT, env=env)
    if code != 0:
        raise SystemExit(code)


def run_step(command: list[str | Path], env: dict[str, str]) -> None:
    """Run a set-up step; show its log (stderr) only if it fails, then exit with its status.

    So a failure is the one line that explains it, not that line after the log of every
    step that went well before it.
    """
    result = subprocess.run(
        [str(part) for part in command], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(result.returncode)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
