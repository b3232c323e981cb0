"""The statements of a refresh-token chain, built once at import, run with bound parameters only.

A refresh is the hot path of the auth service, a login the next: their statements skip the
ORM (no unit of work, no identity map, no statement built per request) and run on the
session's connection, inside the caller's transaction. SQLAlchemy compiles each of them once
per engine and caches it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from auth_service.models import RefreshToken, Session

_tokens: Table = RefreshToken.__table__
_sessions: Table = Session.__table__


class Link(NamedTuple):
    """One refresh token of a chain, with what the rules need of its session."""

    id: int
    session_id: str
    issued_at: datetime
    rotated_at: datetime | None
    rotation_nonce: str | None
    user_id: str
    client_id: str
    scope: str
    expires_at: datetime
    revoked_at: datetime | None


class Opened(NamedTuple):
    """A session just opened, with what its first token pair needs."""

    session_id: str
    user_id: str
    client_id: str
    scope: str
    expires_at: datetime


class LiveToken(NamedTuple):
    """The live end of a session's chain."""

    token_hash: str
    issued_at: datetime


_INSERT_SESSION = insert(_sessions).values(
    id=bindparam("session_id"),
    user_id=bindparam("user_id"),
    client_id=bindparam("client_id"),
    scope=bindparam("scope"),
    created_at=bindparam("now"),
    refreshed_at=bindparam("now"),
    expires_at=bindparam("expires_at"),
)
_FIND = (
    select(
        _tokens.c.id,
        _tokens.c.session_id,
        _tokens.c.issued_at,
        _tokens.c.rotated_at,
        _tokens.c.rotation_nonce,
        _sessions.c.user_id,
        _sessions.c.client_id,
        _sessions.c.scope,
        _sessions.c.expires_at,
        _sessions.c.revoked_at,
    )
    .join_from(_tokens, _sessions, _tokens.c.session_id == _sessions.c.id)
    .where(_tokens.c.token_hash == bindparam("token_hash"))
)
# The rotation itself: of concurrent requests, exactly one sees rowcount 1.
_ROTATE = (
    update(_tokens)
    .where(_tokens.c.id == bindparam("token_id"), _tokens.c.rotated_at.is_(None))
    .values(rotated_at=bindparam("now"), rotation_nonce=bindparam("nonce"))
)
_INSERT_CHILD = insert(_tokens).values(
    session_id=bindparam("session_id"),
    token_hash=bindparam("child_hash"),
    issued_at=bindparam("now"),
)
# PostgreSQL runs both in one statement, one round trip: the INSERT takes its row from the
# conditional UPDATE's RETURNING, so it inserts the child exactly when this call rotated.
_rotated = _ROTATE.returning(_tokens.c.session_id).cte("rotated")
_ROTATE_WITH_CHILD = (
    insert(_tokens)
    .from_select(
        ["session_id", "token_hash", "issued_at"],
        select(
            _rotated.c.session_id,
            bindparam("child_hash", type_=_tokens.c.token_hash.type),
            bindparam("now", type_=_tokens.c.issued_at.type),
        ),
    )
    .returning(_tokens.c.id)
)  # a row back iff the child went in (rowcount is -1 after a CTE)
_LIVE = select(_tokens.c.token_hash, _tokens.c.issued_at).where(
    _tokens.c.session_id == bindparam("session_id"), _tokens.c.rotated_at.is_(None)
)


def open_chain(connection: Connection, session: Opened, first_hash: str, now: datetime) -> None:
    """Store a new session and the hash of its first refresh token."""
    connection.execute(_INSERT_SESSION, {**session._asdict(), "now": now})
    insert_child(connection, session.session_id, first_hash, now)


def find(connection: Connection, token_hash: str) -> Link | None:
    """Return the refresh token stored under *token_hash* with its session, or None."""
    row = connection.execute(_FIND, {"token_hash": token_hash}).first()
    return None if row is None else Link._make(row)


def rotate(connection: Connection, token_id: int, now: datetime, nonce: str) -> bool:
    """Retire the token if it is still live; return whether this call did it."""
    result: Any = connection.execute(_ROTATE, {"token_id": token_id, "now": now, "nonce": nonce})
    return bool(result.rowcount == 1)


def rotate_with_child(
    connection: Connection,
    token_id: int,
    now: datetime,
    nonce: str,
    session_id: str,
    child_hash: str,
) -> bool:
    """Retire the token if it is still live and store its child; return whether this call did.

    The rotation is the same conditional UPDATE as ``rotate``; on PostgreSQL the child's
    INSERT rides in the same statement, elsewhere it follows it.
    """
    if connection.dialect.name != "postgresql":
        if not rotate(connection, token_id, now, nonce):
            return False
        insert_child(connection, session_id, child_hash, now)
        return True
    params = {"token_id": token_id, "now": now, "nonce": nonce, "child_hash": child_hash}
    return connection.execute(_ROTATE_WITH_CHILD, params).first() is not None


def insert_child(connection: Connection, session_id: str, child_hash: str, now: datetime) -> None:
    """Store the hash of the session's new live token."""
    connection.execute(
        _INSERT_CHILD, {"session_id": session_id, "child_hash": child_hash, "now": now}
    )


def live_token(connection: Connection, session_id: str) -> LiveToken | None:
    """Return the live token of a session, or None if it has none."""
    row = connection.execute(_LIVE, {"session_id": session_id}).first()
    return None if row is None else LiveToken._make(row)
