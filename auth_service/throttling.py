"""Fixed-window counters in the auth database: each checked and counted in one atomic statement.

Flask-Limiter's storage (the ``limits`` package) offers memory, Redis, Memcached and MongoDB,
but no SQL: the in-memory one is per process, the others need a server the embedded default
must not need. So the counters live in the auth database every worker and replica shares.

Each counter a request touches gets one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
(SQLite and PostgreSQL alike): it adds the hit and returns the new count in one statement,
holding the row (PostgreSQL) or the database (SQLite) until the commit. So of N concurrent
requests against a limit of L, exactly L see a count <= L: check and count are one step. A
request over a limit rolls its transaction back, so a refused request changes nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as DbSession

from auth_service.errors import Throttled
from auth_service.models import ThrottleCounter
from auth_service.settings import Settings
from shared.db import UTCDateTime
from shared.observability import audit

_table = ThrottleCounter.__table__


def _upsert(insert: Callable[[Table], Any]) -> Any:
    # Built once: a statement without literal values is compiled once and cached.
    statement = insert(_table).values(
        key=bindparam("key"), hits=1, window_ends_at=bindparam("window_ends_at")
    )
    window_over = _table.c.window_ends_at <= bindparam("now", type_=UTCDateTime)
    return statement.on_conflict_do_update(
        index_elements=[_table.c.key],
        set_={
            # Both assignments read the row as it was: a window that ended starts afresh.
            "hits": case((window_over, 1), else_=_table.c.hits + 1),
            "window_ends_at": case(
                (window_over, statement.excluded.window_ends_at), else_=_table.c.window_ends_at
            ),
        },
    ).returning(_table.c.hits, _table.c.window_ends_at)


_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
# What a successful login runs on its counters, built once like the upsert.
_RELEASE = (
    update(_table)
    .where(
        _table.c.key == bindparam("hit_key"),
        _table.c.window_ends_at == bindparam("counted_window_ends_at", type_=UTCDateTime),
        _table.c.hits > 0,
    )
    .values(hits=_table.c.hits - 1)
)
_FORGET = delete(_table).where(_table.c.key == bindparam("hit_key"))


def _upsert_params(hit: Hit, now: datetime) -> dict[str, Any]:
    return {"key": hit.key, "window_ends_at": now + hit.limit.window, "now": now}


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` hits per key in a fixed window of ``window`` from its first hit."""

    rule: str
    max_hits: int
    window: timedelta

    def hit(self, *parts: str) -> Hit:
        """Return a hit of this limit on the key made of *parts* (an address, a username)."""
        material = "\x1f".join((self.rule, *parts)).encode("utf-8", "surrogatepass")
        return Hit(self, hashlib.sha256(material).hexdigest())


@dataclass(frozen=True)
class Hit:
    """One request counted against one limit, under a hashed key."""

    limit: Limit
    key: str


@dataclass(frozen=True)
class Limits:
    """Every limit the auth service enforces, from the settings."""

    login_failures: Limit  # per (normalised username, client address)
    address_login_failures: Limit  # per client address, across usernames
    address_logins: Limit  # every login attempt per client address: bounds the argon2 work
    address_refreshes: Limit  # every refresh per client address
    address_registrations: Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """Build the limits from validated settings."""
        failures = timedelta(seconds=settings.login_failure_window)
        per_address = timedelta(seconds=settings.address_window)
        return cls(
            login_failures=Limit("login_failures", settings.login_max_failures, failures),
            address_login_failures=Limit(
                "address_login_failures", settings.address_max_login_failures, failures
            ),
            address_logins=Limit("address_logins", settings.address_max_logins, per_address),
            address_refreshes=Limit(
                "address_refreshes", settings.address_max_refreshes, per_address
            ),
            address_registrations=Limit(
                "address_registrations",
                settings.address_max_registrations,
                timedelta(seconds=settings.registration_window),
            ),
        )


def retry_after(limit: Limit, hits: int, window_ends_at: datetime, now: datetime) -> int | None:
    """Return the seconds to wait when *hits* exceed the limit before the window ends, else None."""
    if hits <= limit.max_hits or window_ends_at <= now:
        return None
    return max(1, math.ceil((window_ends_at - now).total_seconds()))


def count(
    db: DbSession, now: datetime, *hits: Hit, client: str | None = None
) -> dict[str, datetime]:
    """Count *hits* in the caller's transaction; return each key's window end.

    Over any limit, roll the caller's transaction back and raise Throttled with the longest
    wait (audited with the *client* address). The caller commits: at once when the count
    must be seen before slow work begins.
    """
    counted = {}
    # Core on the session's connection: no ORM work for a statement that loads no objects.
    connection = db.connection()
    upsert = _UPSERT[connection.dialect.name]
    # One lock order for every request (sorted keys): concurrent transactions cannot deadlock.
    for h in sorted(hits, key=lambda h: h.key):
        row = connection.execute(upsert, _upsert_params(h, now)).one()
        counted[h.key] = (row.hits, row.window_ends_at)
    waits = {
        h.limit.rule: wait
        for h in hits
        if (wait := retry_after(h.limit, *counted[h.key], now)) is not None
    }
    if waits:
        db.rollback()
        audit("throttled", limits=sorted(waits), client=client, retry_after=max(waits.values()))
        raise Throttled(max(waits.values()))
    return {key: window_ends_at for key, (_, window_ends_at) in counted.items()}


def release(db: DbSession, hit: Hit, window_ends_at: datetime) -> None:
    """Give back a hit counted in the window ending at *window_ends_at* (not in a later one)."""
    db.connection().execute(
        _RELEASE, {"hit_key": hit.key, "counted_window_ends_at": window_ends_at}
    )


def forget(db: DbSession, hit: Hit) -> None:
    """Reset the counter of *hit*'s key."""
    db.connection().execute(_FORGET, {"hit_key": hit.key})


def purge(db: DbSession, now: datetime) -> int:
    """Delete the counters whose window has ended (they count nothing any more)."""
    result = db.execute(delete(ThrottleCounter).where(ThrottleCounter.window_ends_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
