"""Signed, timed tokens of the authorization endpoint's pages: the CSRF token, the approval.

Signed with itsdangerous (Flask's own signing library), timed by the service's clock, under
keys derived (HKDF-SHA256) from the private signing keys: every worker and replica already
shares them, so a page served by one is accepted by another, and the service needs no second
secret to configure. The newest signing key signs; every loaded key verifies, so a key
rotation does not void the pages open at that moment.

- CSRF: the login page sets a random nonce in a short-lived cookie (HttpOnly,
  SameSite=Strict, Path=/oauth/authorize) and puts a token signing that nonce in the form; a
  POST must bring both. A page elsewhere cannot read the token, and a cookie planted by a
  sibling domain cannot carry a token we signed for it.
- Approval: after the password step, the approval page carries a token signing the user id,
  that nonce and the exact authorization request; the approve button is trusted only with it.
  The user id is never a hidden field anyone could change.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from auth_service.context import AuthDeps
from auth_service.keystore import SigningKey

_INFO = b"tokenpair /oauth/authorize page tokens"
CSRF_SALT = "authorize-csrf"
APPROVAL_SALT = "authorize-approval"


class _ClockedSigner(TimestampSigner):
    """A TimestampSigner that reads the service's clock (tests move it), not time.time()."""

    def __init__(self, *args: Any, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


def new_nonce() -> str:
    """Return a new random nonce for the CSRF cookie (256 bits, base64url)."""
    return secrets.token_urlsafe(32)


def csrf_token(deps: AuthDeps, nonce: str) -> str:
    """Return the form's CSRF token for the cookie's *nonce*."""
    return _serializer(deps, CSRF_SALT).dumps(nonce)


def csrf_ok(deps: AuthDeps, nonce: str | None, token: str | None) -> bool:
    """Return whether *token* signs *nonce* and is younger than AUTH_AUTHORIZE_PAGE_TTL."""
    if not nonce or not token:
        return False
    signed = _load(deps, CSRF_SALT, token)
    return isinstance(signed, str) and hmac.compare_digest(signed, nonce)


def approval_token(deps: AuthDeps, nonce: str, user_id: str, request: list[str]) -> str:
    """Return the approval page's record that *user_id* signed in for *request*."""
    return _serializer(deps, APPROVAL_SALT).dumps({"u": user_id, "n": nonce, "r": request})


def approved_user(deps: AuthDeps, nonce: str, token: str | None, request: list[str]) -> str | None:
    """Return the user of an approval token for this *nonce* and *request*, or None."""
    if not token:
        return None
    signed = _load(deps, APPROVAL_SALT, token)
    if not isinstance(signed, dict) or signed.get("r") != request:
        return None
    user, signed_nonce = signed.get("u"), signed.get("n")
    if not isinstance(user, str) or not isinstance(signed_nonce, str):
        return None
    return user if hmac.compare_digest(signed_nonce, nonce) else None


def _load(deps: AuthDeps, salt: str, token: str) -> object:
    try:
        return _serializer(deps, salt).loads(token, max_age=deps.settings.authorize_page_ttl)
    except (BadData, UnicodeError):  # forged, expired, truncated, not even base64
        return None


def _serializer(deps: AuthDeps, salt: str) -> URLSafeTimedSerializer:
    now = deps.clock()
    signing = deps.keys.signing_key(now)
    others = [key for key in deps.keys.private_keys() if key.kid != signing.kid]
    # itsdangerous signs with the last key and verifies with any.
    secret_keys = [_derive(key) for key in [*others, signing]]
    return URLSafeTimedSerializer(
        secret_keys,
        salt=salt,
        signer=_ClockedSigner,
        signer_kwargs={"clock": deps.clock, "digest_method": hashlib.sha256},
    )


def _derive(key: SigningKey) -> bytes:
    material = key.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)
