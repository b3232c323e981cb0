"""Sessions: opening one, rotating its refresh tokens with reuse detection, ending it.

Each public function is one operation with one commit, except where its docstring says why.
Nothing here knows about HTTP; the views map results and exceptions to responses.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, insert, or_, select, update

from auth_service import throttling
from auth_service.context import Operation
from auth_service.errors import InvalidGrant, SessionNotFound, UnauthorizedClient
from auth_service.models import RefreshToken, Session
from auth_service.tokens import (
    FIRST_PARTY_CLIENT_ID,
    child_token,
    new_refresh_token,
    new_rotation_nonce,
    token_hash,
)
from shared.metrics import REFRESHES, REUSE_DETECTIONS, SESSIONS_REVOKED, TOKENS_ISSUED
from shared.observability import audit


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh returns (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    refresh_token: str
    scope: str
    # Seconds the refresh token stays usable if unused: a browser's cookie lives as long.
    refresh_expires_in: int


def open_session(
    op: Operation,
    user_id: str,
    scope: str,
    client_id: str = FIRST_PARTY_CLIENT_ID,
    *,
    session_id: str | None = None,
) -> TokenPair:
    """Open a session with its first refresh token, committing the caller's transaction too.

    A caller that must record the session's id in that same transaction (an authorization
    code, so a replay can revoke it) chooses it: new_session_id().
    """
    session = Session(
        id=session_id or new_session_id(),
        user_id=user_id,
        client_id=client_id,
        scope=scope,
        created_at=op.now,
        refreshed_at=op.now,
        expires_at=op.now + op.deps.policy.session_max_age,
    )
    refresh_token = new_refresh_token()
    op.db.add(session)
    op.db.add(RefreshToken(session=session, token_hash=token_hash(refresh_token), issued_at=op.now))
    op.db.commit()
    audit("login_succeeded", user_id=user_id, session_id=session.id, scope=scope)
    TOKENS_ISSUED.labels("refresh").inc()
    return _pair(op, session, refresh_token)


def refresh(
    op: Operation, presented: str, address: str, client_id: str = FIRST_PARTY_CLIENT_ID
) -> TokenPair:
    """Rotate a refresh token: the presented one stops working, its child is returned.

    The rotation is one conditional UPDATE (``WHERE rotated_at IS NULL``): of any number of
    concurrent requests exactly one changes the row, and the others answer with the child
    that one created, if they arrive within the grace window. Every path counts the refresh
    against its address in the same transaction, just before its commit: over the limit,
    everything rolls back, and the token still works after ``Retry-After``. A token works
    only for the client its session was opened for (RFC 6749 §6): /auth/refresh is the
    first-party client's, the OAuth token endpoint passes the authenticated client.
    """
    row = _find(op, presented)
    if row is None:
        _commit_counted(op, address)
        REFRESHES.labels("rejected").inc()
        raise InvalidGrant("The refresh token is invalid")
    if row.session.client_id != client_id:
        _commit_counted(op, address)
        REFRESHES.labels("rejected").inc()
        raise InvalidGrant("The refresh token was issued to another client")
    if not row.session.is_active(op.now, op.deps.policy.refresh_ttl):
        _commit_counted(op, address)
        REFRESHES.labels("rejected").inc()
        raise InvalidGrant("The refresh token's session has ended")
    if row.rotated_at is None:
        nonce = new_rotation_nonce()
        rotated = op.db.execute(
            update(RefreshToken)
            .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=op.now, rotation_nonce=nonce)
            .execution_options(synchronize_session=False)
        )
        if rotated.rowcount == 1:  # type: ignore[attr-defined]
            return _rotate(op, row.session, child_token(presented, nonce), address)
        # Another request rotated it first. The rollback expires `row`, so reading it
        # below loads what that request committed.
        op.db.rollback()
        return _answer_reuse(op, row, presented, address, kind="concurrent")
    return _answer_reuse(op, row, presented, address, kind="grace_retry")


def _rotate(op: Operation, session: Session, child: str, address: str) -> TokenPair:
    # Core statements, not session.add(): the hot path skips the ORM's unit-of-work flush.
    op.db.execute(
        insert(RefreshToken).values(
            session_id=session.id, token_hash=token_hash(child), issued_at=op.now
        )
    )
    op.db.execute(
        update(Session)
        .where(Session.id == session.id)
        .values(refreshed_at=op.now)
        .execution_options(synchronize_session=False)
    )
    # Counted last: on PostgreSQL the address's counter row stays locked only until the commit.
    _commit_counted(op, address)
    REFRESHES.labels("rotated").inc()
    TOKENS_ISSUED.labels("refresh").inc()
    audit("refresh_rotated", user_id=session.user_id, session_id=session.id)
    return _pair(op, session, child)


def _answer_reuse(
    op: Operation, row: RefreshToken, presented: str, address: str, kind: str
) -> TokenPair:
    # A rotated token again: an honest retry inside the grace window gets the same child,
    # as long as that child is still the live end of the chain; anything else is theft.
    session = row.session
    policy = op.deps.policy
    if (
        row.rotated_at is not None
        and row.rotation_nonce is not None
        and op.now - row.rotated_at <= policy.reuse_grace
        and session.is_active(op.now, policy.refresh_ttl)
    ):
        child = child_token(presented, row.rotation_nonce)
        live = op.db.scalar(
            select(RefreshToken.id).where(
                RefreshToken.token_hash == token_hash(child), RefreshToken.rotated_at.is_(None)
            )
        )
        if live is not None:
            _commit_counted(op, address)
            REUSE_DETECTIONS.labels(kind).inc()
            REFRESHES.labels("grace_retry").inc()
            audit("refresh_reuse", kind=kind, user_id=session.user_id, session_id=session.id)
            return _pair(op, session, child)
    _revoke(op, Session.id == session.id, reason="refresh_token_reuse")
    _commit_counted(op, address)
    REUSE_DETECTIONS.labels("theft").inc()
    REFRESHES.labels("rejected").inc()
    audit("refresh_reuse", kind="theft", user_id=session.user_id, session_id=session.id)
    raise InvalidGrant("The refresh token was already used; its session has been revoked")


def logout(op: Operation, presented: str) -> None:
    """Revoke the session of a refresh token; an unknown token changes nothing."""
    row = _find(op, presented)
    if row is not None:
        _revoke(op, Session.id == row.session_id, reason="logout")
    op.db.commit()
    if row is not None:
        audit("logout", session_id=row.session_id)


def revoke_for_client(op: Operation, presented: str, client_id: str) -> None:
    """Revoke the session of a refresh token of *client_id* (RFC 7009); unknown ones are a no-op.

    A token of another client is refused (RFC 7009 §2.1) and changes nothing.
    """
    row = _find(op, presented)
    if row is not None and row.session.client_id != client_id:
        raise UnauthorizedClient("The token was issued to another client")
    if row is not None:
        _revoke(op, Session.id == row.session_id, reason="revoked_by_client")
    op.db.commit()
    if row is not None:
        audit("token_revoked", client_id=client_id, session_id=row.session_id)


def logout_all(op: Operation, user_id: str) -> None:
    """Revoke every session of a user."""
    revoked = _revoke(op, Session.user_id == user_id, reason="logout_all")
    op.db.commit()
    audit("logout_all", user_id=user_id, sessions=revoked)


def session_of(op: Operation, presented: str) -> Session | None:
    """Return the session a refresh token belongs to (live or not), or None."""
    row = _find(op, presented)
    return row.session if row is not None else None


def live_session_of(op: Operation, presented: str) -> Session | None:
    """Return the session whose live refresh token *presented* is: unrotated, session active."""
    row = _find(op, presented)
    if row is None or row.rotated_at is not None:
        return None
    return row.session if row.session.is_active(op.now, op.deps.policy.refresh_ttl) else None


def revoke_client_sessions(op: Operation, client_id: str) -> int:
    """Revoke every session of a client in the caller's transaction; return how many."""
    return _revoke(op, Session.client_id == client_id, reason="client_removed")


def active_sessions(op: Operation, user_id: str) -> list[Session]:
    """Return the user's sessions that can still be refreshed, newest first."""
    sessions = op.db.scalars(
        select(Session)
        .where(
            Session.user_id == user_id,
            Session.revoked_at.is_(None),
            Session.expires_at > op.now,
        )
        .order_by(Session.created_at.desc())
    )
    return [s for s in sessions if s.is_active(op.now, op.deps.policy.refresh_ttl)]


def is_live_session(op: Operation, user_id: str, session_id: str | None) -> bool:
    """Return whether *session_id* is an active session of *user_id*.

    An access token outlives a logout by design (resource services check it offline), but
    the auth service holds the sessions: its own bearer endpoints refuse an ended one.
    """
    session = op.db.get(Session, session_id) if session_id else None
    return (
        session is not None
        and session.user_id == user_id
        and session.is_active(op.now, op.deps.policy.refresh_ttl)
    )


def revoke_session(op: Operation, user_id: str, session_id: str) -> None:
    """Revoke one of the user's active sessions; SessionNotFound if there is none such."""
    revoked = _revoke(
        op, (Session.id == session_id) & (Session.user_id == user_id), reason="revoked_by_user"
    )
    op.db.commit()
    if revoked == 0:
        raise SessionNotFound("No active session with that id")
    audit("session_revoked", user_id=user_id, session_id=session_id)


def purge(op: Operation, *, batch_size: int, revoked_retention: timedelta) -> tuple[int, int]:
    """Delete ended sessions (with their tokens) one batch per commit, then old throttle counters.

    Returns the number of sessions and of throttle counters deleted.
    """
    ended = or_(
        Session.expires_at <= op.now,
        Session.refreshed_at <= op.now - op.deps.policy.refresh_ttl,
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


def _commit_counted(op: Operation, address: str) -> None:
    throttling.count(op.db, op.now, op.deps.limits.address_refreshes.hit(address), client=address)
    op.db.commit()


def _find(op: Operation, presented: str) -> RefreshToken | None:
    return op.db.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(presented))
    )


def _revoke(op: Operation, condition: ColumnElement[bool], *, reason: str) -> int:
    result = op.db.execute(
        update(Session)
        .where(condition, Session.revoked_at.is_(None))
        .values(revoked_at=op.now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    revoked = int(result.rowcount)  # type: ignore[attr-defined]
    if revoked:
        SESSIONS_REVOKED.labels(reason).inc(revoked)
    return revoked


def _pair(op: Operation, session: Session, refresh_token: str) -> TokenPair:
    issuer = op.deps.issuer
    access_token = issuer.issue(
        subject=session.user_id,
        scope=session.scope,
        client_id=session.client_id,
        session_id=session.id,
        now=op.now,
    )
    TOKENS_ISSUED.labels("access").inc()
    # From `now`, not session.refreshed_at: _rotate updates that column without the ORM.
    refresh_expires_at = min(op.now + op.deps.policy.refresh_ttl, session.expires_at)
    return TokenPair(
        access_token=access_token,
        expires_in=int(issuer.ttl.total_seconds()),
        refresh_token=refresh_token,
        scope=session.scope,
        refresh_expires_in=max(0, int((refresh_expires_at - op.now).total_seconds())),
    )


def new_session_id() -> str:
    """Return a new random session id (128 bits, hex)."""
    return secrets.token_hex(16)


def revoke_in_transaction(op: Operation, session_id: str, *, reason: str) -> int:
    """Revoke one session (if still live) in the caller's transaction; return 0 or 1."""
    return _revoke(op, Session.id == session_id, reason=reason)
