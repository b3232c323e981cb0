"""Minting access tokens (RFC 9068 JWTs) and the refresh-token secrets behind sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

import jwt

from auth_service.keystore import KeyRing
from shared import access_token

# The client of the JSON API (/auth/login, /auth/refresh): the service's own first-party
# pages and apps. Every access token names its client (RFC 9068 §2.2); these name this one.
FIRST_PARTY_CLIENT_ID = "tokenpair-first-party"


class AccessTokenIssuer:
    """Sign short-lived access tokens with the key ring's active key."""

    def __init__(self, keys: KeyRing, *, issuer: str, audience: str, ttl: timedelta) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self.ttl = ttl

    def issue(
        self,
        *,
        subject: str,
        scope: str,
        client_id: str,
        session_id: str | None,
        now: datetime,
    ) -> str:
        """Return a signed access token for *subject* and *client_id*, valid from *now* for ttl."""
        key = self._keys.signing_key(now)
        claims = access_token.claims(
            issuer=self._issuer,
            subject=subject,
            audience=self._audience,
            client_id=client_id,
            scope=scope,
            issued_at=int(now.timestamp()),
            ttl_seconds=int(self.ttl.total_seconds()),
            jti=uuid.uuid4().hex,
            session_id=session_id,
        )
        headers = {"typ": access_token.TYPE, "kid": key.kid}
        # The key object was loaded once; PyJWT signs with it directly (no PEM parsing per token).
        return jwt.encode(claims, key.private_key, algorithm=key.alg, headers=headers)


def new_refresh_token() -> str:
    """Return a fresh random refresh token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_rotation_nonce() -> str:
    """Return the random nonce that, with the parent token, determines a rotated child."""
    return secrets.token_hex(16)


def child_token(parent: str, nonce: str) -> str:
    """Return the refresh token that replaces *parent*: HMAC-SHA256 keyed by the parent.

    Only someone holding the parent in clear can compute it; the database holds just the
    parent's hash and the nonce, and an old token cannot predict its successors.
    """
    digest = hmac.new(parent.encode(), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a refresh token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()
