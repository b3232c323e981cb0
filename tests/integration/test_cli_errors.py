"""Operator commands print what an operator can read: aligned tables, one-line failures."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import auth_service
from auth_service.keystore import KeyStore
from tests.integration.conftest import CHEAP_PASSWORDS
from tests.support import FakeClock


def closed_port() -> int:
    """Return a loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def one_line(result: Any) -> str:
    """Return the only line a failed command printed."""
    assert result.exit_code != 0, result.output
    (line,) = result.output.splitlines()
    assert "Traceback" not in result.output
    return str(line)


def test_keys_list_lines_up_its_columns_whatever_the_kid_and_alg_lengths(
    auth_app: Flask, keys_dir: Path, clock: FakeClock
) -> None:
    store = KeyStore(keys_dir)
    for alg in ("ES256", "EdDSA"):  # the fixture made an RS256 key; these kids are shorter
        store.create(alg, clock() - timedelta(hours=1))

    result = run(auth_app, "keys", "list")

    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert len(rows) == 3
    starts = [header.index(title) for title in ("alg", "state", "created", "signs from")]
    for row in rows:
        for start in starts:
            assert row[start - 2 : start] == "  " and row[start] != " ", (header, row)


@pytest.mark.parametrize("command", [["list"], ["rotate"], ["public"], ["retire", "some-kid"]])
def test_a_keys_command_on_a_missing_keys_dir_fails_naming_the_variable(
    auth_env: dict[str, str], tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "no-such-folder"
    app = auth_service.create_app(
        {**auth_env, "AUTH_KEYS_DIR": str(missing), "AUTH_DATABASE_URL": "sqlite://"},
        passwords=CHEAP_PASSWORDS,
    )

    line = one_line(run(app, "keys", *command))

    assert line.startswith(f"auth_service: AUTH_KEYS_DIR ({missing}) does not exist")
    assert not missing.exists()


def test_sessions_purge_on_an_unreachable_database_fails_naming_the_variable(
    auth_env: dict[str, str],
) -> None:
    url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{closed_port()}/tokenpair"
    app = auth_service.create_app({**auth_env, "AUTH_DATABASE_URL": url}, passwords=CHEAP_PASSWORDS)

    line = one_line(run(app, "sessions", "purge"))

    assert line.startswith("auth_service: the database in AUTH_DATABASE_URL (")
    assert "hunter2" not in line and "***" in line
