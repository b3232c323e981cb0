"""Sessions: opening one, rotating its refresh tokens with reuse detection, ending it.

Each public function is one operation with one commit, except where its docstring says why.
Nothing here knows about HTTP; the views map results and exceptions to responses. What a
rotation runs is in ``rotation_store.py``, the idle-expiry rule in ``chain.py``; listing and
liveness are in ``live_sessions.py``, the purge in ``purge.py``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import ColumnElement, update

from auth_service import chain, throttling
from auth_service import rotation_store as store
from auth_service.context import Operation
from auth_service.errors import InvalidGrant, InvalidScope, SessionNotFound, UnauthorizedClient
from auth_service.models import Session
from auth_service.tokens import (
    FIRST_PARTY_CLIENT_ID,
    child_token,
    new_refresh_token,
    new_rotation_nonce,
    token_hash,
)
from shared.metrics import REFRESHES, REUSE_DETECTIONS, SESSIONS_REVOKED, TOKENS_ISSUED
from shared.observability import audit

# The metric children of the hot path, looked up once rather than per request.
_ROTATED = REFRESHES.labels("rotated")
_REJECTED = REFRESHES.labels("rejected")
_REFRESH_ISSUED = TOKENS_ISSUED.labels("refresh")
_ACCESS_ISSUED = TOKENS_ISSUED.labels("access")


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
    session = store.Opened(
        session_id=session_id or new_session_id(),
        user_id=user_id,
        client_id=client_id,
        scope=scope,
        expires_at=op.now + op.deps.policy.session_max_age,
    )
    refresh_token = new_refresh_token()
    store.open_chain(op.db.connection(), session, token_hash(refresh_token), op.now)
    op.db.commit()
    audit("login_succeeded", user_id=user_id, session_id=session.session_id, scope=scope)
    _REFRESH_ISSUED.inc()
    return _pair(op, session, refresh_token, issued_at=op.now)


def refresh(
    op: Operation,
    presented: str,
    address: str,
    client_id: str = FIRST_PARTY_CLIENT_ID,
    scope: str | None = None,
) -> TokenPair:
    """Rotate a refresh token: the presented one stops working, its child is returned.

    The rotation is one conditional UPDATE (``WHERE rotated_at IS NULL``): of any number of
    concurrent requests exactly one changes the row, and the others answer with the child
    that one created, if they arrive within the grace window. Every path counts the refresh
    against its address in the same transaction, just before its commit: over the limit,
    everything rolls back, and the token still works after ``Retry-After``. A token works
    only for the client its session was opened for (RFC 6749 §6): /auth/refresh is the
    first-party client's, the OAuth token endpoint passes the authenticated client and the
    *scope* it asked for, which may not exceed the session's (refused before any change).
    """
    connection = op.db.connection()
    link = store.find(connection, token_hash(presented))
    if link is None:
        _reject(op, address, "The refresh token is invalid")
    if link.client_id != client_id:
        _reject(op, address, "The refresh token was issued to another client")
    if scope is not None and not set(scope.split()) <= set(link.scope.split()):
        raise InvalidScope("scope may not exceed what the refresh token was granted")
    if link.rotated_at is not None:
        return _answer_reuse(op, link, presented, address, kind="grace_retry")
    # A live token is the live end of its chain: its own issued_at sets the idle expiry.
    if not _active(op, link, link.issued_at):
        _reject(op, address, "The refresh token's session has ended")
    nonce = new_rotation_nonce()
    child = child_token(presented, nonce)
    if store.rotate_with_child(
        connection, link.id, op.now, nonce, link.session_id, token_hash(child)
    ):
        # Counted last: on PostgreSQL the address's counter row stays locked only until the commit.
        _commit_counted(op, address)
        _ROTATED.inc()
        _REFRESH_ISSUED.inc()
        audit("refresh_rotated", user_id=link.user_id, session_id=link.session_id)
        return _pair(op, link, child, issued_at=op.now)
    # Another request rotated it first: read what that request committed.
    op.db.rollback()
    rotated = store.find(op.db.connection(), token_hash(presented))
    if rotated is None:  # its session was deleted in between
        _reject(op, address, "The refresh token is invalid")
    return _answer_reuse(op, rotated, presented, address, kind="concurrent")


def _answer_reuse(
    op: Operation, link: store.Link, presented: str, address: str, kind: str
) -> TokenPair:
    # A rotated token again: an honest retry inside the grace window gets the same child,
    # as long as that child is still the live end of the chain; anything else is theft.
    live = store.live_token(op.db.connection(), link.session_id)
    if not _active(op, link, live.issued_at if live else None):
        _reject(op, address, "The refresh token's session has ended")
    assert live is not None  # an active session has a live token
    if (
        link.rotated_at is not None
        and link.rotation_nonce is not None
        and op.now - link.rotated_at <= op.deps.policy.reuse_grace
    ):
        child = child_token(presented, link.rotation_nonce)
        if live.token_hash == token_hash(child):
            _commit_counted(op, address)
            REUSE_DETECTIONS.labels(kind).inc()
            REFRESHES.labels("grace_retry").inc()
            audit("refresh_reuse", kind=kind, user_id=link.user_id, session_id=link.session_id)
            return _pair(op, link, child, issued_at=live.issued_at)
    _revoke(op, Session.id == link.session_id, reason="refresh_token_reuse")
    _commit_counted(op, address)
    REUSE_DETECTIONS.labels("theft").inc()
    REFRESHES.labels("rejected").inc()
    audit("refresh_reuse", kind="theft", user_id=link.user_id, session_id=link.session_id)
    raise InvalidGrant("The refresh token was already used; its session has been revoked")


def _active(op: Operation, link: store.Link, live_issued_at: datetime | None) -> bool:
    return chain.is_active(
        op.now,
        op.deps.policy.refresh_ttl,
        revoked_at=link.revoked_at,
        expires_at=link.expires_at,
        live_issued_at=live_issued_at,
    )


def _reject(op: Operation, address: str, reason: str) -> NoReturn:
    _commit_counted(op, address)
    _REJECTED.inc()
    raise InvalidGrant(reason)


def logout(op: Operation, presented: str) -> None:
    """Revoke the session of a refresh token; an unknown token changes nothing."""
    link = store.find(op.db.connection(), token_hash(presented))
    if link is not None:
        _revoke(op, Session.id == link.session_id, reason="logout")
    op.db.commit()
    if link is not None:
        audit("logout", session_id=link.session_id)


def revoke_for_client(op: Operation, presented: str, client_id: str) -> None:
    """Revoke the session of a refresh token of *client_id* (RFC 7009); unknown ones are a no-op.

    A token of another client is refused (RFC 7009 §2.1) and changes nothing.
    """
    link = store.find(op.db.connection(), token_hash(presented))
    if link is not None and link.client_id != client_id:
        raise UnauthorizedClient("The token was issued to another client")
    if link is not None:
        _revoke(op, Session.id == link.session_id, reason="revoked_by_client")
    op.db.commit()
    if link is not None:
        audit("token_revoked", client_id=client_id, session_id=link.session_id)


def logout_all(op: Operation, user_id: str) -> None:
    """Revoke every session of a user."""
    revoked = _revoke(op, Session.user_id == user_id, reason="logout_all")
    op.db.commit()
    audit("logout_all", user_id=user_id, sessions=revoked)


def revoke_client_sessions(op: Operation, client_id: str) -> int:
    """Revoke every session of a client in the caller's transaction; return how many."""
    return _revoke(op, Session.client_id == client_id, reason="client_removed")


def revoke_session(op: Operation, user_id: str, session_id: str) -> None:
    """Revoke one of the user's active sessions; SessionNotFound if there is none such."""
    revoked = _revoke(
        op, (Session.id == session_id) & (Session.user_id == user_id), reason="revoked_by_user"
    )
    op.db.commit()
    if revoked == 0:
        raise SessionNotFound("No active session with that id")
    audit("session_revoked", user_id=user_id, session_id=session_id)


def _commit_counted(op: Operation, address: str) -> None:
    throttling.count(op.db, op.now, op.deps.limits.address_refreshes.hit(address), client=address)
    op.db.commit()


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


def _pair(
    op: Operation, session: store.Opened | store.Link, refresh_token: str, *, issued_at: datetime
) -> TokenPair:
    # *issued_at*: when *refresh_token* was issued (now, or the first answer of a grace retry).
    issuer = op.deps.issuer
    access_token = issuer.issue(
        subject=session.user_id,
        scope=session.scope,
        client_id=session.client_id,
        session_id=session.session_id,
        now=op.now,
    )
    _ACCESS_ISSUED.inc()
    refresh_expires_at = chain.idle_expires_at(
        issued_at, session.expires_at, op.deps.policy.refresh_ttl
    )
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
