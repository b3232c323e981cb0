"""Every start-up and command-line failure is one line on stderr naming what is wrong.

One row per case: a bad value of every setting (both services and the gunicorn process
variables), an unreachable or misplaced database, an unusable AUTH_KEYS_DIR, and the example
client without a password. Each row runs as a real subprocess the way a user meets it
(``python3 dev.py up`` in a copy of the project, the Flask CLI, gunicorn, the client) and
must end with a non-zero status, exactly one line on stderr that names the variable or the
file, and no traceback anywhere. The rows run a few at a time, so the table stays fast.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.harness import BIN, ROOT, base_env, free_port, gunicorn_command
from tests.e2e.quickstart import clean_env, quickstart_copy

CLOSED = "postgresql+psycopg://postgres:hunter2@127.0.0.1:{closed_port}/tokenpair"
PARALLEL = 4
CASE_TIMEOUT = 90.0


@dataclass(frozen=True)
class Case:
    """One way to fail: who runs what, with which settings, and what the line must name."""

    runner: str  # "up", "dev.py flask", "flask", "gunicorn" or "client"
    settings: dict[str, str]
    names: tuple[str, ...]
    app: str = "auth_service"
    args: tuple[str, ...] = ()
    not_named: tuple[str, ...] = ()
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


def up(settings: dict[str, str], *names: str, not_named: tuple[str, ...] = ()) -> Case:
    return Case("up", settings, names, not_named=not_named)


def flask(app: str, args: str, settings: dict[str, str], *names: str) -> Case:
    return Case("flask", settings, names, app=app, args=tuple(args.split()))


def gunicorn(app: str, settings: dict[str, str], *names: str, **extra: object) -> Case:
    return Case("gunicorn", settings, names, app=app, **extra)  # type: ignore[arg-type]


def serve(app: str, settings: dict[str, str], *names: str) -> Case:
    """A case of ``python -m shared.serve <app>``: how the image, compose and dev.py start."""
    return Case("serve", settings, names, app=app)


SETTINGS_CASES = {
    # The cases, through dev.py up.
    "ttl-abc": up({"AUTH_ACCESS_TOKEN_TTL": "abc"}, "AUTH_ACCESS_TOKEN_TTL"),
    "database-not-a-url": up({"AUTH_DATABASE_URL": "::nonsense::"}, "AUTH_DATABASE_URL"),
    "signing-alg-hs256": up({"AUTH_SIGNING_ALG": "HS256"}, "AUTH_SIGNING_ALG"),
    "log-level-verbose": up({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    "leeway-999": up({"RESOURCE_LEEWAY": "999"}, "RESOURCE_LEEWAY"),
    "key-file-only": up(
        {"RESOURCE_PUBLIC_KEY_FILE": "/nonexistent/public-keys.json"},
        "RESOURCE_PUBLIC_KEY_FILE",
        "/nonexistent/public-keys.json",
        not_named=("RESOURCE_JWKS_URL",),
    ),
    "workers-abc": up({"WEB_CONCURRENCY": "abc"}, "WEB_CONCURRENCY"),
    "workers-0": up({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
    "timeout-abc": up({"GUNICORN_TIMEOUT": "abc"}, "GUNICORN_TIMEOUT"),
    "behind-proxy-yes": up({"GUNICORN_BEHIND_TLS_PROXY": "yes"}, "GUNICORN_BEHIND_TLS_PROXY"),
    "metrics-address-bad": up({"METRICS_ADDRESS": "nowhere"}, "METRICS_ADDRESS"),
    "auth-database-unreachable": up({"AUTH_DATABASE_URL": CLOSED}, "AUTH_DATABASE_URL"),
    "resource-database-unreachable": up({"RESOURCE_DATABASE_URL": CLOSED}, "RESOURCE_DATABASE_URL"),
    "sqlite-folder-missing": up(
        {"AUTH_DATABASE_URL": "sqlite:////nonexistent/dir/auth.db"},
        "AUTH_DATABASE_URL",
        "/nonexistent/dir",
    ),
    "keys-dir-is-a-file": up({"AUTH_KEYS_DIR": "{a_file}"}, "AUTH_KEYS_DIR"),
    "keys-dir-under-a-file": up({"AUTH_KEYS_DIR": "{a_file}/keys"}, "AUTH_KEYS_DIR"),
    # Every other setting of both services and of the processes.
    "database-of-another-kind": up(
        {"RESOURCE_DATABASE_URL": "mysql://db/notes"}, "RESOURCE_DATABASE_URL"
    ),
    "resource-sqlite-folder-missing": up(
        {"RESOURCE_DATABASE_URL": "sqlite:////nonexistent/dir/notes.db"}, "RESOURCE_DATABASE_URL"
    ),
    "refresh-ttl-negative": up({"AUTH_REFRESH_TOKEN_TTL": "-5"}, "AUTH_REFRESH_TOKEN_TTL"),
    "session-shorter-than-refresh": up(
        {"AUTH_SESSION_MAX_AGE": "100"}, "AUTH_SESSION_MAX_AGE", "AUTH_REFRESH_TOKEN_TTL"
    ),
    "grace-negative": up({"AUTH_REFRESH_REUSE_GRACE": "-1"}, "AUTH_REFRESH_REUSE_GRACE"),
    "no-failures-allowed": up({"AUTH_LOGIN_MAX_FAILURES": "0"}, "AUTH_LOGIN_MAX_FAILURES"),
    "failure-window-zero": up({"AUTH_LOGIN_FAILURE_WINDOW": "0"}, "AUTH_LOGIN_FAILURE_WINDOW"),
    "jwks-max-age-abc": up({"AUTH_JWKS_MAX_AGE": "abc"}, "AUTH_JWKS_MAX_AGE"),
    "activation-before-caches-expire": up(
        {"AUTH_KEY_ACTIVATION_DELAY": "10"}, "AUTH_KEY_ACTIVATION_DELAY", "AUTH_JWKS_MAX_AGE"
    ),
    "jwks-url-not-http": up({"RESOURCE_JWKS_URL": "file:///etc/jwks.json"}, "RESOURCE_JWKS_URL"),
    "leeway-abc": up({"RESOURCE_LEEWAY": "abc"}, "RESOURCE_LEEWAY"),
    "auth-body-limit-too-small": up({"AUTH_MAX_BODY_BYTES": "100"}, "AUTH_MAX_BODY_BYTES"),
    "resource-body-limit-abc": up({"RESOURCE_MAX_BODY_BYTES": "64KiB"}, "RESOURCE_MAX_BODY_BYTES"),
    "threads-0": up({"GUNICORN_THREADS": "0"}, "GUNICORN_THREADS"),
    "graceful-timeout-negative": up(
        {"GUNICORN_GRACEFUL_TIMEOUT": "-1"}, "GUNICORN_GRACEFUL_TIMEOUT"
    ),
    "metrics-folder-missing": up(
        {"PROMETHEUS_MULTIPROC_DIR": "{missing}"}, "PROMETHEUS_MULTIPROC_DIR"
    ),
    "auth-port-abc": up({"TOKENPAIR_AUTH_PORT": "abc"}, "TOKENPAIR_AUTH_PORT"),
    "resource-port-too-high": up({"TOKENPAIR_RESOURCE_PORT": "70000"}, "TOKENPAIR_RESOURCE_PORT"),
}

COMMAND_CASES = {
    "db-upgrade-unreachable": flask(
        "auth_service", "db upgrade", {"AUTH_DATABASE_URL": CLOSED}, "AUTH_DATABASE_URL"
    ),
    "resource-db-upgrade-unreachable": flask(
        "resource_service", "db upgrade", {"RESOURCE_DATABASE_URL": CLOSED}, "RESOURCE_DATABASE_URL"
    ),
    "sessions-purge-unreachable": flask(
        "auth_service", "sessions purge", {"AUTH_DATABASE_URL": CLOSED}, "AUTH_DATABASE_URL"
    ),
    "db-upgrade-unwritable-sqlite": flask(
        "auth_service",
        "db upgrade",
        {"AUTH_DATABASE_URL": "sqlite:////proc/auth.db"},
        "AUTH_DATABASE_URL",
    ),  # fmt: skip
    "keys-init-unwritable": flask(
        "auth_service", "keys init", {"AUTH_KEYS_DIR": "/sys/tokenpair-keys"}, "AUTH_KEYS_DIR"
    ),
    **{
        f"keys-{command.split()[0]}-{where}": flask(
            "auth_service", f"keys {command}", {"AUTH_KEYS_DIR": path}, "AUTH_KEYS_DIR", path
        )
        for command in ("init", "list", "rotate", "public", "retire some-kid")
        for where, path in (("file", "/proc/keys"), ("under-a-file", "{a_file}/keys"))
    },
    **{
        f"keys-{command.split()[0]}-missing": flask(
            "auth_service", f"keys {command}", {"AUTH_KEYS_DIR": "{missing}"}, "AUTH_KEYS_DIR"
        )
        for command in ("list", "rotate", "public", "retire some-kid")
    },
}

GUNICORN_CASES = {
    "gunicorn-ttl-abc": gunicorn(
        "auth_service", {"AUTH_ACCESS_TOKEN_TTL": "abc"}, "AUTH_ACCESS_TOKEN_TTL"
    ),
    "gunicorn-log-level": gunicorn("resource_service", {"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    "gunicorn-leeway": gunicorn("resource_service", {"RESOURCE_LEEWAY": "999"}, "RESOURCE_LEEWAY"),
    "gunicorn-workers-0": gunicorn("auth_service", {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
    "gunicorn-threads-abc": gunicorn(
        "auth_service", {"GUNICORN_THREADS": "abc"}, "GUNICORN_THREADS"
    ),
    "gunicorn-timeout-abc": gunicorn(
        "resource_service", {"GUNICORN_TIMEOUT": "abc"}, "GUNICORN_TIMEOUT"
    ),
    "gunicorn-graceful-timeout": gunicorn(
        "auth_service", {"GUNICORN_GRACEFUL_TIMEOUT": "soon"}, "GUNICORN_GRACEFUL_TIMEOUT"
    ),
    "gunicorn-metrics-folder-missing": gunicorn(
        "resource_service", {"PROMETHEUS_MULTIPROC_DIR": "{missing}"}, "PROMETHEUS_MULTIPROC_DIR"
    ),
    "gunicorn-workers-abc": gunicorn(
        "auth_service",
        {"WEB_CONCURRENCY": "abc"},
        "WEB_CONCURRENCY",
        marks=(
            pytest.mark.xfail(
                strict=True,
                reason="gunicorn itself parses WEB_CONCURRENCY while importing, before any "
                "tokenpair code runs; python -m shared.serve (every documented start) checks it",
            ),
        ),
    ),
}

SERVE_CASES = {
    "serve-workers-abc": serve("auth_service", {"WEB_CONCURRENCY": "abc"}, "WEB_CONCURRENCY"),
    "serve-behind-proxy-yes": serve(
        "auth_service", {"GUNICORN_BEHIND_TLS_PROXY": "yes"}, "GUNICORN_BEHIND_TLS_PROXY"
    ),
    "serve-threads-0": serve("resource_service", {"GUNICORN_THREADS": "0"}, "GUNICORN_THREADS"),
    "serve-ttl-abc": serve(
        "auth_service", {"AUTH_ACCESS_TOKEN_TTL": "abc"}, "AUTH_ACCESS_TOKEN_TTL"
    ),
    "serve-unknown-service": serve("notes_service", {}, "name the service"),
}

DEV_FLASK_CASES = {
    "dev-flask-keys-dir-a-file": Case(
        "dev.py flask", {"AUTH_KEYS_DIR": "/proc/keys"}, ("AUTH_KEYS_DIR",),
        args=("auth_service", "keys", "list"),
    ),
    "dev-flask-bad-setting": Case(
        "dev.py flask", {"AUTH_ACCESS_TOKEN_TTL": "soon"}, ("AUTH_ACCESS_TOKEN_TTL",),
        args=("auth_service", "keys", "list"),
    ),
    "dev-flask-unknown-service": Case(
        "dev.py flask", {}, ("notes_service",), args=("notes_service", "db", "upgrade")
    ),
}  # fmt: skip

CLIENT_CASES = {
    "client-without-password": Case("client", {}, ("--password", "TOKENPAIR_PASSWORD")),
}

CASES: dict[str, Case] = {
    **SETTINGS_CASES,
    **COMMAND_CASES,
    **GUNICORN_CASES,
    **SERVE_CASES,
    **DEV_FLASK_CASES,
    **CLIENT_CASES,
}


@dataclass(frozen=True)
class Outcome:
    workdir: Path
    command: list[str]
    returncode: int
    stdout: str
    stderr: str


def fill(value: str, workdir: Path) -> str:
    """Replace the placeholders of a setting (or a name) with paths and ports of this run."""
    a_file = workdir / "a-file"
    if not a_file.exists():
        a_file.write_text("not a folder\n")
    return value.format(
        closed_port=free_port(), a_file=a_file, missing=workdir / "no-such-folder" / "keys"
    )


def command_for(case: Case, workdir: Path, site: Path) -> tuple[list[str], Path, dict[str, str]]:
    """Return the command line, working directory and environment that run *case*."""
    settings = {name: fill(value, workdir) for name, value in case.settings.items()}
    if case.runner == "up":
        copy = quickstart_copy(workdir / "project")
        command = [sys.executable, str(copy / "dev.py"), "up"]
        if not any(name.startswith("TOKENPAIR_") for name in settings):
            command += ["--auth-port", str(free_port()), "--resource-port", str(free_port())]
        return command, copy, clean_env(**settings)
    if case.runner == "dev.py flask":
        copy = quickstart_copy(workdir / "project")
        return (
            [sys.executable, str(copy / "dev.py"), "flask", *case.args],
            copy,
            clean_env(**settings),
        )
    env = {**base_env(site), **settings}
    if case.app == "resource_service" and "RESOURCE_PUBLIC_KEY_FILE" not in settings:
        env.setdefault("RESOURCE_JWKS_URL", "http://127.0.0.1:1/.well-known/jwks.json")
    if case.runner == "flask":
        return [str(BIN / "flask"), "--app", case.app, *case.args], workdir, env
    if case.runner == "gunicorn":
        return gunicorn_command(case.app, free_port()), workdir, env
    if case.runner == "serve":
        command = [
            sys.executable,
            "-m",
            "shared.serve",
            case.app,
            "--bind",
            f"127.0.0.1:{free_port()}",
        ]
        return command, workdir, env
    command = [sys.executable, "-m", "examples.client", "demo", "--username", "u", "--register"]
    return command, ROOT, clean_env()


def run_case(case: Case, workdir: Path, site: Path) -> Outcome:
    """Run one case to its exit (killing it and its children if it outlives the deadline)."""
    workdir.mkdir(parents=True)
    command, cwd, env = command_for(case, workdir, site)
    with subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, process_group=0,
    ) as process:  # fmt: skip
        try:
            stdout, stderr = process.communicate(timeout=CASE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            stderr += f"\n(still running after {CASE_TIMEOUT:.0f} s: killed)"
    return Outcome(workdir, command, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def outcomes(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Run every case once, a few at a time."""
    root = tmp_path_factory.mktemp("startup-errors")
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = {
            name: pool.submit(run_case, case, root / name, site) for name, case in CASES.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize(
    "name", [pytest.param(name, id=name, marks=case.marks) for name, case in CASES.items()]
)
def test_each_failure_is_one_line_on_stderr_naming_what_is_wrong(
    outcomes: dict[str, Outcome], name: str
) -> None:
    case, outcome = CASES[name], outcomes[name]
    context = (
        f"{' '.join(outcome.command)}\n--- stdout\n{outcome.stdout}\n--- stderr\n{outcome.stderr}"
    )

    lines = [line for line in outcome.stderr.splitlines() if line.strip()]

    assert outcome.returncode != 0, context
    assert "Traceback" not in outcome.stdout + outcome.stderr, context
    assert len(lines) == 1, context
    for named in case.names:
        assert fill(named, outcome.workdir) in lines[0], context
    for other in case.not_named:
        assert other not in lines[0], context
    assert "hunter2" not in outcome.stdout + outcome.stderr, "a database password was printed"


def test_a_missing_sqlite_folder_is_not_created(outcomes: dict[str, Outcome]) -> None:
    assert outcomes["sqlite-folder-missing"].returncode != 0
    assert not Path("/nonexistent").exists()
