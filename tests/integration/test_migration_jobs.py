"""`flask --app <service> db upgrade` as a migration job runs it: with the database URL only.

The real Flask CLI in a subprocess, with an environment holding nothing of ours but that URL,
in an empty working directory; the served service still refuses to start so configured.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from tests.support import fresh_database

FLASK = str(Path(sys.executable).parent / "flask")
TABLES = {
    "auth_service": {"auth_alembic_version", "users", "sessions", "refresh_tokens"},
    "resource_service": {"resource_alembic_version", "notes", "jwks_cache"},
}
DATABASE_VARIABLE = {
    "auth_service": "AUTH_DATABASE_URL",
    "resource_service": "RESOURCE_DATABASE_URL",
}


def only(variables: dict[str, str]) -> dict[str, str]:
    """Return this process's environment without any setting of ours, plus *variables*."""
    ours = ("AUTH_", "RESOURCE_", "FLASK_", "PROMETHEUS_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(ours)}, **variables}


def flask(app: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLASK, "--app", app, *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("app", ["auth_service", "resource_service"])
def test_db_upgrade_needs_nothing_but_the_database_url(
    app: str, database_kind: str, tmp_path: Path
) -> None:
    job = tmp_path / "job"
    job.mkdir()
    with fresh_database(database_kind, tmp_path) as url:
        result = flask(app, "db", "upgrade", env=only({DATABASE_VARIABLE[app]: url}), cwd=job)

        assert result.returncode == 0, result.stderr
        engine = create_engine(url)
        try:
            assert TABLES[app] <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    assert list(job.iterdir()) == []  # no key folder, no stray SQLite file: only the database


def test_flask_run_still_refuses_to_serve_without_a_key_source(tmp_path: Path) -> None:
    env = only({"RESOURCE_DATABASE_URL": f"sqlite:///{tmp_path / 'resource.db'}"})

    result = flask("resource_service", "run", "--port", "0", env=env, cwd=tmp_path)

    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "resource_service: configuration error: RESOURCE_PUBLIC_KEY_FILE or RESOURCE_JWKS_URL "
        "is required: the public keys that verify access tokens"
    )


def test_a_bad_database_url_still_stops_db_upgrade_with_one_line(tmp_path: Path) -> None:
    env = only({"RESOURCE_DATABASE_URL": "mysql://user@db/notes"})

    result = flask("resource_service", "db", "upgrade", env=env, cwd=tmp_path)

    assert result.returncode == 4
    assert result.stderr.strip().splitlines() == [
        "resource_service: configuration error: RESOURCE_DATABASE_URL must be an sqlite:// or "
        "postgresql+psycopg:// URL"
    ]
