"""Configuration as operators meet it: bad settings stop start-up; a key file replaces the URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import (
    BIN,
    HTTP_TIMEOUT,
    Service,
    Stack,
    base_env,
    bearer,
    free_port,
    gunicorn_command,
    make_stack,
    run_to_exit,
    sign_up,
)

APP_LOAD_ERROR = 4  # the exit status gunicorn reads as "App failed to load": never respawned

BAD_SETTINGS = [
    pytest.param(
        "auth_service", {"AUTH_ACCESS_TOKEN_TTL": "abc"}, ["AUTH_ACCESS_TOKEN_TTL"], id="ttl-abc"
    ),
    pytest.param(
        "resource_service",
        {
            "RESOURCE_PUBLIC_KEY_FILE": "public-keys.json",
            "RESOURCE_JWKS_URL": "http://127.0.0.1:8001/.well-known/jwks.json",
        },
        ["RESOURCE_PUBLIC_KEY_FILE", "RESOURCE_JWKS_URL"],
        id="two-key-sources",
    ),
]


def lines_naming(output: str, names: list[str]) -> list[str]:
    """Return the lines of *output* that name every one of *names*."""
    return [line for line in output.splitlines() if all(name in line for name in names)]


@pytest.mark.parametrize(("app", "settings", "names"), BAD_SETTINGS)
def test_gunicorn_refuses_to_start_with_a_bad_setting_and_names_it(
    site: Path, tmp_path: Path, app: str, settings: dict[str, str], names: list[str]
) -> None:
    # The master checks the settings once (shared/gunicorn_conf.py on_starting) before any
    # worker starts: one line, exit 4, however many workers were asked for.
    command = gunicorn_command(app, free_port(), workers=2)

    result = run_to_exit(command, cwd=tmp_path, env={**base_env(site), **settings})

    assert result.returncode == APP_LOAD_ERROR, result.stdout
    assert "Booting worker" not in result.stdout
    (message,) = lines_naming(result.stdout, names)
    assert message.startswith(f"{app}: configuration error: "), message
    assert "Traceback" not in result.stdout


@pytest.mark.parametrize(("app", "settings", "names"), BAD_SETTINGS)
def test_db_upgrade_refuses_to_run_with_a_bad_setting_and_names_it_once(
    site: Path, tmp_path: Path, app: str, settings: dict[str, str], names: list[str]
) -> None:
    result = run_to_exit(
        [str(BIN / "flask"), "--app", app, "db", "upgrade"],
        cwd=tmp_path,
        env={**base_env(site), **settings},
    )

    assert result.returncode != 0, result.stdout
    (message,) = lines_naming(result.stdout, names)
    assert message.startswith(f"{app}: configuration error: "), message
    assert "Traceback" not in result.stdout
    assert not (tmp_path / "var").exists(), "it touched the store before checking its settings"


@pytest.fixture
def key_file_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose resource service reads the output of ``keys public`` from a file."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    operator = Service("auth", "auth_service", free_port(), base_env(site), workdir)
    operator.flask("keys", "init")
    key_file = workdir / "public-keys.json"
    key_file.write_text(operator.flask("keys", "public").stdout)
    running = make_stack(
        site,
        workdir,
        resource_env={"RESOURCE_JWKS_URL": "", "RESOURCE_PUBLIC_KEY_FILE": str(key_file)},
    )
    yield running
    running.stop()


def test_the_resource_service_verifies_tokens_with_the_key_file_keys_public_printed(
    key_file_stack: Stack,
) -> None:
    resource = key_file_stack.resource.url
    access_token = sign_up(key_file_stack)["access_token"]
    headers = bearer(access_token)
    header, payload, signature = access_token.split(".")

    me = requests.get(f"{resource}/api/me", headers=headers, timeout=HTTP_TIMEOUT)
    note = requests.post(
        f"{resource}/api/notes", json={"text": "from a file"}, headers=headers, timeout=HTTP_TIMEOUT
    )
    forged = requests.get(
        f"{resource}/api/me",
        headers=bearer(f"{header}.{payload}.{signature[::-1]}"),
        timeout=HTTP_TIMEOUT,
    )

    assert me.status_code == 200, me.text
    assert note.status_code == 201, note.text
    assert forged.status_code == 401
    assert requests.get(f"{resource}/readyz", timeout=HTTP_TIMEOUT).status_code == 200
    auth_log = key_file_stack.auth.log_path.read_text(errors="replace")
    assert "/.well-known/jwks.json" not in auth_log, "the resource service asked for the JWKS"
