"""What one rotation sends to the database: the lookup, the rotation with its child, the count.

On SQLite the conditional UPDATE and the child's INSERT are two statements; on PostgreSQL one
(the INSERT takes its row from the UPDATE's RETURNING), a round trip fewer.

The idle expiry is derived from the live token (auth_service/chain.py), so a rotation writes
no session row; these tests keep it that way, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event, select

from auth_service.extensions import db
from auth_service.models import Session
from tests.integration.conftest import AuthActions
from tests.support import FakeClock


@contextmanager
def statements_of(app: Flask) -> Iterator[list[str]]:
    """Collect the first words of every statement the app's engine runs meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()[:3]).upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_rotation_is_one_select_one_conditional_update_one_insert_and_the_count(
    auth_app: Flask, auth: AuthActions, database_kind: str
) -> None:
    refresh_token = auth.tokens()["refresh_token"]

    with statements_of(auth_app) as seen:
        assert auth.refresh(refresh_token).status_code == 200

    # A PostgreSQL pool checks its connection first (pool_pre_ping): not the rotation's work.
    work = [s for s in seen if s != "SELECT 1"]
    if database_kind == "postgresql":
        assert work == ["SELECT REFRESH_TOKENS.ID, REFRESH_TOKENS.SESSION_ID,", "WITH ROTATED AS",
                        "INSERT INTO THROTTLE_COUNTERS"]  # fmt: skip
    else:
        assert [s.split()[0] for s in work] == ["SELECT", "UPDATE", "INSERT", "INSERT"]
        assert work[1] == "UPDATE REFRESH_TOKENS SET"
        assert work[2] == "INSERT INTO REFRESH_TOKENS"
        assert work[3] == "INSERT INTO THROTTLE_COUNTERS"


def test_a_rotation_leaves_the_session_row_as_the_login_wrote_it(
    auth_app: Flask, auth: AuthActions, clock: FakeClock
) -> None:
    refresh_token = auth.tokens()["refresh_token"]
    with auth_app.app_context():
        before = db.session.execute(select(Session.__table__)).one()
    clock.advance(60)

    assert auth.refresh(refresh_token).status_code == 200

    with auth_app.app_context():
        assert db.session.execute(select(Session.__table__)).one() == before
