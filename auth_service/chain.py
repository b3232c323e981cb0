"""A session's idle expiry, derived from its live refresh token: the one rule every check uses.

Each session holds one chain of refresh tokens, and exactly one of them is live (``rotated_at
IS NULL``): the newest. Unused, it stops working ``AUTH_REFRESH_TOKEN_TTL`` after it was
issued, and never later than the session's absolute ``expires_at``. So a rotation writes
nothing to the session: the child's ``issued_at`` is the record of the last refresh. The
refresh, the session listing, the bearer endpoints' liveness check and the purge all ask here,
in Python for one session or in SQL for many.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists

from auth_service.models import RefreshToken, Session


def idle_expires_at(live_issued_at: datetime, expires_at: datetime, ttl: timedelta) -> datetime:
    """Return when a session whose live token was issued at *live_issued_at* ends if unused."""
    return min(live_issued_at + ttl, expires_at)


def is_active(
    now: datetime,
    ttl: timedelta,
    *,
    revoked_at: datetime | None,
    expires_at: datetime,
    live_issued_at: datetime | None,
) -> bool:
    """Return whether a session can still be refreshed at *now* (None: it has no live token)."""
    return (
        revoked_at is None
        and live_issued_at is not None
        and now < idle_expires_at(live_issued_at, expires_at, ttl)
    )


def live_token_of_session() -> ColumnElement[bool]:
    """Return the join condition of a session with its live refresh token."""
    return (RefreshToken.session_id == Session.id) & RefreshToken.rotated_at.is_(None)


def idle_ended(now: datetime, ttl: timedelta) -> ColumnElement[bool]:
    """Return the SQL condition: the session's live token has been unused for *ttl* at *now*."""
    return ~exists().where(live_token_of_session(), RefreshToken.issued_at > now - ttl)
