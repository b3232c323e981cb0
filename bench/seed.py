"""Sessions in bulk, fast: a million rows in well under a minute, on SQLite and PostgreSQL.

Logging in once per session would cost an argon2id verification each; instead the rows are
written straight into the migrated schema, each session with one live refresh token stored
the way the auth service stores it (``token_hash``), so every kept token refreshes normally.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from auth_service.passwords import Passwords
from auth_service.settings import ALL_SCOPES
from auth_service.tokens import FIRST_PARTY_CLIENT_ID, new_refresh_token, token_hash

CHUNK = 50_000
SESSIONS_PER_USER = 10
# The production default of AUTH_SESSION_MAX_AGE: no seeded session ends during a run.
SESSION_MAX_AGE = timedelta(days=30)

_USERS = "users (id, username, password_hash, created_at)"
_SESSIONS = "sessions (id, user_id, client_id, scope, created_at, refreshed_at, expires_at)"
_TOKENS = "refresh_tokens (session_id, token_hash, issued_at)"

Row = tuple[object, ...]

_PLAIN_INDEXES = """
    SELECT indexname, indexdef FROM pg_indexes AS i
    WHERE schemaname = current_schema() AND tablename IN ('users', 'sessions', 'refresh_tokens')
      AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conname = i.indexname)
"""


def seed_sessions(
    url: str, count: int, keep: int, client_id: str = FIRST_PARTY_CLIENT_ID
) -> list[str]:
    """Insert *count* active sessions of *client_id*, a live refresh token each; return *keep*.

    The kept tokens are spread evenly over the insertion order (their hashes, hence their
    places in the index, are random anyway).
    """
    sqlite = make_url(url).get_backend_name() == "sqlite"

    def stamp(moment: datetime) -> object:
        # SQLAlchemy's SQLite DATETIME format: the services compare timestamps as these strings.
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment

    now = datetime.now(UTC).replace(tzinfo=None)  # the store holds naive UTC
    created, expires = stamp(now), stamp(now + SESSION_MAX_AGE)
    # One real argon2id hash shared by the seeded users: none of them ever logs in.
    password_hash = Passwords().hash(secrets.token_urlsafe(16))
    user_ids = [uuid.uuid4().hex for _ in range(max(1, count // SESSIONS_PER_USER))]
    users: list[Row] = [
        (user_id, f"bench-{user_id[:12]}", password_hash, created) for user_id in user_ids
    ]
    step = max(1, count // keep) if keep else count + 1
    kept: list[str] = []

    def chunks() -> Iterator[tuple[list[Row], list[Row]]]:
        scope = " ".join(ALL_SCOPES)
        for start in range(0, count, CHUNK):
            sessions: list[Row] = []
            tokens: list[Row] = []
            for index in range(start, min(count, start + CHUNK)):
                session_id, token = secrets.token_hex(16), new_refresh_token()
                user_id = user_ids[index % len(user_ids)]
                sessions.append((session_id, user_id, client_id, scope, created, created, expires))
                tokens.append((session_id, token_hash(token), created))
                if index % step == 0 and len(kept) < keep:
                    kept.append(token)
            yield sessions, tokens

    if sqlite:
        _seed_sqlite(url, users, chunks())
    else:
        _seed_postgres(url, users, chunks())
    # The bulk load leaves a gigabyte of dirty pages: write them out now, not while measuring.
    os.sync()
    return kept


def _seed_sqlite(url: str, users: list[Row], chunks: Iterator[tuple[list[Row], list[Row]]]) -> None:
    path = make_url(url).database
    assert path
    with closing(sqlite3.connect(path)) as connection:
        # Only this bulk load runs without a journal; the services put the file back in WAL mode.
        connection.execute("PRAGMA journal_mode=MEMORY")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1000000")  # 1 GB: the indexes stay in memory
        with connection:  # one transaction
            connection.executemany(f"INSERT INTO {_USERS} VALUES (?, ?, ?, ?)", users)
            for sessions, tokens in chunks:
                connection.executemany(
                    f"INSERT INTO {_SESSIONS} VALUES (?, ?, ?, ?, ?, ?, ?)", sessions
                )
                connection.executemany(f"INSERT INTO {_TOKENS} VALUES (?, ?, ?)", tokens)


def _seed_postgres(
    url: str, users: list[Row], chunks: Iterator[tuple[list[Row], list[Row]]]
) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as connection:  # one transaction, committed on exit
        with connection.cursor() as cursor:
            # The rows are consistent by construction: skip the per-row foreign-key triggers,
            # and build the plain indexes once at the end rather than row by row (the same
            # definitions, in the same transaction). Unique and primary keys stay as they are.
            cursor.execute("SET LOCAL session_replication_role = replica")
            indexes = cursor.execute(_PLAIN_INDEXES).fetchall()
            for name, _ in indexes:
                cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            _copy(cursor, _USERS, users)
            for sessions, tokens in chunks:
                _copy(cursor, _SESSIONS, sessions)
                _copy(cursor, _TOKENS, tokens)
            for _, definition in indexes:
                cursor.execute(definition)
    # Statistics and the visibility map, as a database that grew slowly would have them; and
    # autovacuum will not start on the new rows in the middle of a measurement.
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")  # flush the load's WAL before the measurement


def _copy(cursor: psycopg.Cursor[tuple[object, ...]], target: str, rows: list[Row]) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
