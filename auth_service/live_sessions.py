"""Which sessions are live: the user's own list, and the checks behind the bearer endpoints.

Both read each session with its live refresh token, whose ``issued_at`` is the last refresh
(``chain.py``): one statement, whatever the number of sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from auth_service import chain, clients
from auth_service import rotation_store as store
from auth_service.context import Operation
from auth_service.models import RefreshToken, Session
from auth_service.tokens import FIRST_PARTY_CLIENT_ID, token_hash


@dataclass(frozen=True)
class LiveSession:
    """A session that can still be refreshed, as its user sees it."""

    id: str
    scope: str
    created_at: datetime
    last_refreshed_at: datetime
    # When it ends if unused: the idle expiry, capped by the absolute one.
    expires_at: datetime


def active_sessions(op: Operation, user_id: str) -> list[LiveSession]:
    """Return the user's sessions that can still be refreshed, newest first."""
    ttl = op.deps.policy.refresh_ttl
    rows = op.db.execute(
        select(Session, RefreshToken.issued_at)
        .join(RefreshToken, chain.live_token_of_session())
        .where(
            Session.user_id == user_id,
            Session.revoked_at.is_(None),
            Session.expires_at > op.now,
        )
        .order_by(Session.created_at.desc())
    )
    return [
        LiveSession(
            id=session.id,
            scope=session.scope,
            created_at=session.created_at,
            last_refreshed_at=issued_at,
            expires_at=chain.idle_expires_at(issued_at, session.expires_at, ttl),
        )
        for session, issued_at in rows
        if chain.is_active(
            op.now,
            ttl,
            revoked_at=session.revoked_at,
            expires_at=session.expires_at,
            live_issued_at=issued_at,
        )
    ]


def is_live_session(op: Operation, user_id: str, session_id: str | None) -> bool:
    """Return whether *session_id* is an active session of *user_id*.

    An access token outlives a logout by design (resource services check it offline), but
    the auth service holds the sessions: its own bearer endpoints refuse an ended one.
    """
    if not session_id:
        return False
    row = op.db.execute(
        select(Session.revoked_at, Session.expires_at, RefreshToken.issued_at)
        .outerjoin(RefreshToken, chain.live_token_of_session())
        .where(Session.id == session_id, Session.user_id == user_id)
    ).first()
    return row is not None and chain.is_active(
        op.now,
        op.deps.policy.refresh_ttl,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        live_issued_at=row.issued_at,
    )


def manages_the_account(op: Operation, client_id: str, scopes: frozenset[str]) -> bool:
    """Return whether a token of *client_id* with *scopes* may act on the user's whole account.

    Listing, ending and logging out every session is the user's own business: only a token of
    the first-party login does it (the built-in client, or a registered one marked first
    party), and only one carrying every scope of the policy. A third-party client, or a login
    narrowed to fewer scopes, got a token for less than the account.
    """
    if not set(op.deps.policy.scopes) <= scopes:
        return False
    if client_id == FIRST_PARTY_CLIENT_ID:
        return True
    client = clients.find(op, client_id)
    return client is not None and client.first_party


def live_link(op: Operation, presented: str) -> store.Link | None:
    """Return the chain link of *presented* if it is the live token of an active session."""
    link = store.find(op.db.connection(), token_hash(presented))
    if link is None or link.rotated_at is not None:
        return None
    active = chain.is_active(
        op.now,
        op.deps.policy.refresh_ttl,
        revoked_at=link.revoked_at,
        expires_at=link.expires_at,
        live_issued_at=link.issued_at,
    )
    return link if active else None
