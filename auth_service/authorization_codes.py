"""Authorization codes (RFC 6749 §4.1, PKCE S256 of RFC 7636): issue, redeem, purge; no HTTP.

A code is 256 random bits, handed to the browser once; the store keeps only its SHA-256
(like a refresh token: a copy of the database yields no usable code). It is bound to the
client, the exact redirect URI, the S256 challenge, the user and the scope, and lives
AUTH_CODE_TTL seconds (at most 60).

Redemption is single use by one conditional UPDATE (``WHERE used_at IS NULL``), which also
records the id of the session it is about to open, in the transaction that opens it: of two
concurrent redemptions exactly one wins, and the loser, like any later replay, finds the
winner's session and revokes it (RFC 6749 §4.1.2: a code used twice may have been stolen).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session as DbSession

from auth_service import sessions, throttling
from auth_service.clients import Client
from auth_service.context import Operation
from auth_service.errors import InvalidGrant, InvalidRequest
from auth_service.models import AuthorizationCode
from auth_service.sessions import TokenPair
from auth_service.tokens import token_hash
from shared.observability import audit

# RFC 7636 §4.1: 43 to 128 unreserved characters; §4.2: S256 gives 43 base64url characters.
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")


def s256(verifier: str) -> str:
    """Return BASE64URL(SHA-256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_challenge(value: str) -> bool:
    """Return whether *value* can be an S256 code challenge."""
    return CHALLENGE.fullmatch(value) is not None


def issue(
    op: Operation,
    client: Client,
    redirect_uri: str,
    code_challenge: str,
    user_id: str,
    scope: str,
) -> str:
    """Issue a code for an authorization request that was checked, and commit it."""
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequest("redirect_uri is not registered for the client")
    if not is_challenge(code_challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters (S256)")
    code = secrets.token_urlsafe(32)
    op.db.add(
        AuthorizationCode(
            code_hash=token_hash(code),
            client_id=client.id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            scope=scope,
            created_at=op.now,
            expires_at=op.now + timedelta(seconds=op.deps.settings.auth_code_ttl),
        )
    )
    op.db.commit()
    audit("authorization_code_issued", client_id=client.id, user_id=user_id, scope=scope)
    return code


def redeem(
    op: Operation,
    client: Client,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    address: str,
) -> TokenPair:
    """Exchange a code for a session's token pair (RFC 6749 §4.1.3); InvalidGrant if it is not.

    Every attempt is counted against the address like a refresh. A wrong client, redirect URI
    or verifier changes nothing (whoever lacks the verifier cannot burn the code, nor revoke
    what it issued); a replay by someone who has them revokes the session it opened.
    """
    if VERIFIER.fullmatch(code_verifier) is None:
        raise InvalidRequest("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
    row = _find(op, code)
    problem = _mismatch(row, client, redirect_uri, code_verifier)
    if problem is not None:
        _refuse(op, address, problem)
    assert row is not None  # _mismatch names a missing row
    if row.used_at is None and row.expires_at <= op.now:
        _refuse(op, address, "The authorization code expired")
    session_id = sessions.new_session_id()
    if row.used_at is None:
        won = op.db.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == row.code_hash,
                AuthorizationCode.used_at.is_(None),
            )
            .values(used_at=op.now, session_id=session_id)
            .execution_options(synchronize_session=False)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            # Counted before open_session's commit: over the limit, the code stays unused.
            throttling.count(
                op.db, op.now, op.deps.limits.address_refreshes.hit(address), client=address
            )
            audit("authorization_code_redeemed", client_id=client.id, session_id=session_id)
            return sessions.open_session(
                op, row.user_id, row.scope, client.id, session_id=session_id
            )
        op.db.rollback()  # another redemption won; read what it committed
        row = _find(op, code)
        assert row is not None
    _revoke_replayed(op, row, address)


def purge(db: DbSession, now: datetime, *, used_retention: timedelta = timedelta(0)) -> int:
    """Delete expired unused codes, and used ones expired more than *used_retention* ago.

    A used code is kept a while so that a replay still revokes what it issued. The caller's
    transaction is committed. Returns how many codes were deleted.
    """
    result = db.execute(
        delete(AuthorizationCode).where(
            or_(
                and_(AuthorizationCode.used_at.is_(None), AuthorizationCode.expires_at <= now),
                AuthorizationCode.expires_at <= now - used_retention,
            )
        )
    )
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def _find(op: Operation, code: str) -> AuthorizationCode | None:
    return op.db.scalar(
        select(AuthorizationCode)
        .where(AuthorizationCode.code_hash == token_hash(code))
        .execution_options(populate_existing=True)
    )


def _mismatch(
    row: AuthorizationCode | None, client: Client, redirect_uri: str, code_verifier: str
) -> str | None:
    if row is None:
        return "The authorization code is invalid"
    if row.client_id != client.id:
        return "The authorization code was issued to another client"
    if row.redirect_uri != redirect_uri:
        return "redirect_uri differs from the one of the authorization request"
    if not hmac.compare_digest(s256(code_verifier), row.code_challenge):
        return "code_verifier does not match the code_challenge"
    return None


def _refuse(op: Operation, address: str, reason: str) -> NoReturn:
    throttling.count(op.db, op.now, op.deps.limits.address_refreshes.hit(address), client=address)
    op.db.commit()
    raise InvalidGrant(reason)


def _revoke_replayed(op: Operation, row: AuthorizationCode, address: str) -> NoReturn:
    revoked = 0
    if row.session_id is not None:
        revoked = sessions.revoke_in_transaction(op, row.session_id, reason="code_replayed")
    audit(
        "authorization_code_replayed",
        client_id=row.client_id,
        session_id=row.session_id,
        revoked=revoked,
    )
    _refuse(op, address, "The authorization code was already used; its tokens are revoked")
