"""dev.py's quickstart environment and options: what it fills in, and what it leaves alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dev

ROOT = Path(__file__).resolve().parents[2]

JWKS = "http://127.0.0.1:8001/.well-known/jwks.json"


def test_the_quickstart_fills_in_short_tokens_the_issuer_and_the_jwks_url() -> None:
    env = dev.quickstart_env({"HOME": "/home/me"})

    assert env == {
        "HOME": "/home/me",
        "AUTH_ACCESS_TOKEN_TTL": "30",
        "AUTH_ISSUER": "http://localhost:8001",
        "RESOURCE_ISSUER": "http://localhost:8001",
        "RESOURCE_JWKS_URL": JWKS,
        "AUTH_BROWSER_ORIGINS": "http://localhost:8003",
        "RESOURCE_CORS_ORIGINS": "http://localhost:8003",
    }


def test_the_issuer_and_the_jwks_url_follow_a_moved_auth_port() -> None:
    env = dev.quickstart_env({}, auth_port=9001, resource_port=9002)

    assert env["AUTH_ISSUER"] == env["RESOURCE_ISSUER"] == "http://localhost:9001"
    assert env["RESOURCE_JWKS_URL"] == "http://127.0.0.1:9001/.well-known/jwks.json"


def test_the_demo_origin_follows_its_port_and_never_replaces_origins_the_user_set() -> None:
    moved = dev.quickstart_env({}, demo_port=9003)
    given = dev.quickstart_env({"AUTH_BROWSER_ORIGINS": "https://app.example"})

    assert (
        moved["AUTH_BROWSER_ORIGINS"] == moved["RESOURCE_CORS_ORIGINS"] == "http://localhost:9003"
    )
    assert given["AUTH_BROWSER_ORIGINS"] == "https://app.example"
    assert given["RESOURCE_CORS_ORIGINS"] == "http://localhost:8003"


def test_a_key_file_the_user_set_gets_no_jwks_url_beside_it() -> None:
    env = dev.quickstart_env({"RESOURCE_PUBLIC_KEY_FILE": "/keys/public.json"})

    assert "RESOURCE_JWKS_URL" not in env
    assert env["RESOURCE_PUBLIC_KEY_FILE"] == "/keys/public.json"


@pytest.mark.parametrize(
    "given",
    [
        {"AUTH_ACCESS_TOKEN_TTL": "300"},
        {"AUTH_ISSUER": "https://auth.example"},
        {"RESOURCE_ISSUER": "https://other.example"},
        {"RESOURCE_JWKS_URL": "https://auth.example/jwks.json"},
        {"RESOURCE_AUDIENCE": "notes"},
    ],
)
def test_a_setting_the_user_gave_is_never_replaced(given: dict[str, str]) -> None:
    env = dev.quickstart_env(given)

    assert env.items() >= given.items()


def test_the_resource_service_demands_the_issuer_and_audience_the_user_gave_the_auth_service() -> (
    None
):
    env = dev.quickstart_env({"AUTH_ISSUER": "https://auth.example", "AUTH_AUDIENCE": "notes"})

    assert env["RESOURCE_ISSUER"] == "https://auth.example"
    assert env["RESOURCE_AUDIENCE"] == "notes"


def test_a_blank_setting_counts_as_unset_as_the_services_read_it() -> None:
    env = dev.quickstart_env({"AUTH_ACCESS_TOKEN_TTL": " ", "RESOURCE_PUBLIC_KEY_FILE": ""})

    assert env["AUTH_ACCESS_TOKEN_TTL"] == "30"
    assert env["RESOURCE_JWKS_URL"] == JWKS


def test_ports_come_from_the_flags_then_the_environment_then_the_defaults() -> None:
    defaults = dev.parse_up([], {})
    assert (defaults.auth_port, defaults.resource_port) == (8001, 8002)
    from_env = dev.parse_up([], {"TOKENPAIR_AUTH_PORT": "9001", "TOKENPAIR_RESOURCE_PORT": "9002"})
    assert (from_env.auth_port, from_env.resource_port) == (9001, 9002)
    assert dev.parse_up(["--auth-port", "7001"], {"TOKENPAIR_AUTH_PORT": "9001"}).auth_port == 7001


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["--auth-port", "abc"], {}, "--auth-port"),
        (["--resource-port", "0"], {}, "--resource-port"),
        ([], {"TOKENPAIR_AUTH_PORT": "http"}, "TOKENPAIR_AUTH_PORT"),
        (["--auth-port", "9000", "--resource-port", "9000"], {}, "two ports"),
        (["--demo-port", "8001"], {}, "demo page needs a port of its own"),
        ([], {"TOKENPAIR_DEMO_PORT": "x"}, "TOKENPAIR_DEMO_PORT"),
    ],
)
def test_a_bad_port_is_one_line_naming_the_flag_or_variable(
    argv: list[str], environ: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        dev.parse_up(argv, environ)

    (line,) = capsys.readouterr().err.splitlines()
    assert stopped.value.code == 2
    assert named in line


def test_flask_takes_the_service_then_passes_everything_else_to_flask() -> None:
    options = dev.parse_flask(["auth_service", "keys", "retire", "abc", "--force"], {})

    assert options.service == "auth_service"
    assert options.args == ["keys", "retire", "abc", "--force"]


def test_what_dev_py_imports_needs_only_the_standard_library() -> None:
    # -S: no site-packages, as in a fresh Python before dev.py has created .venv.
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import shared.config, demo.server"
    result = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
