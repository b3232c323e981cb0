"""SQLite, the embedded default: WAL mode, a busy timeout, and a locked store failing safely."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from auth_service.extensions import db
from shared import db as shared_db
from shared.db import SQLITE_BUSY_TIMEOUT_MS
from tests.integration.conftest import AuthActions


@pytest.fixture
def database_kind() -> str:
    return "sqlite"


def test_every_sqlite_connection_uses_wal_and_waits_for_the_writer(auth_app: Flask) -> None:
    with auth_app.app_context():
        for _ in range(2):  # a fresh pooled connection gets the same settings
            with db.engine.connect() as connection:
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                timeout = connection.execute(text("PRAGMA busy_timeout")).scalar()
                assert timeout == SQLITE_BUSY_TIMEOUT_MS
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            db.engine.dispose()


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> int:
    """Wait 300 ms for a lock instead of 10 s, so the locked-store test is quick."""
    monkeypatch.setattr(shared_db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    return 300


@pytest.fixture
def writer_lock(auth_app: Flask) -> Iterator[sqlite3.Connection]:
    """Another process's long write transaction: it holds SQLite's one writer lock."""
    path = make_url(auth_app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(str(path), isolation_level=None)
    yield holder
    holder.close()


def test_a_store_locked_past_the_busy_timeout_answers_503_and_recovers(
    short_busy_timeout: int, auth_app: Flask, auth: AuthActions, writer_lock: sqlite3.Connection
) -> None:
    tokens = auth.tokens()
    writer_lock.execute("BEGIN EXCLUSIVE")
    writer_lock.execute("DELETE FROM throttle_counters")

    started = time.monotonic()
    answer = auth.refresh(tokens["refresh_token"])
    elapsed = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.get_json()["error"] == "temporarily_unavailable"
    assert answer.headers["Retry-After"] == "1"
    assert elapsed < short_busy_timeout / 1000 + 2

    writer_lock.execute("ROLLBACK")
    # Nothing was half-done: the same refresh token rotates now.
    assert auth.refresh(tokens["refresh_token"]).status_code == 200
