"""Deleting what has ended: sessions (with their tokens) and throttle counters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select

from auth_service import chain, throttling
from auth_service.context import Operation
from auth_service.models import RefreshToken, Session


def purge(op: Operation, *, batch_size: int, revoked_retention: timedelta) -> tuple[int, int]:
    """Delete ended sessions (with their tokens) one batch per commit, then old throttle counters.

    Returns the number of sessions and of throttle counters deleted.
    """
    ended = or_(
        Session.expires_at <= op.now,
        chain.idle_ended(op.now, op.deps.policy.refresh_ttl),
        Session.revoked_at <= op.now - revoked_retention,
    )
    deleted = 0
    while True:
        ids = list(op.db.scalars(select(Session.id).where(ended).limit(batch_size)))
        if not ids:
            break
        op.db.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(ids)))
        op.db.execute(delete(Session).where(Session.id.in_(ids)))
        op.db.commit()
        deleted += len(ids)
    counters = throttling.purge(op.db, op.now)
    op.db.commit()
    return deleted, counters
