"""SQLite as the embedded default: WAL mode and a busy timeout on every connection."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from auth_service.extensions import db
from shared.db import SQLITE_BUSY_TIMEOUT_MS


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
