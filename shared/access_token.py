"""The access-token profile (RFC 9068): one definition for the issuer and every verifier."""

from __future__ import annotations

from typing import Any

# RFC 9068 §2.1: the JOSE header's typ; §4: verifiers accept the media-type spelling too.
TYPE = "at+jwt"
ACCEPTED_TYPES = (TYPE, "application/at+jwt")

# RFC 9068 §2.2 (auth_time and acr are optional there; this project sets neither).
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope", "client_id")


def claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    client_id: str,
    scope: str,
    issued_at: int,
    ttl_seconds: int,
    jti: str,
    session_id: str | None = None,
) -> dict[str, Any]:
    """Return the claims of an access token; times in whole seconds (some verifiers refuse more)."""
    result: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": jti,
        "scope": scope,
        "client_id": client_id,
    }
    if session_id is not None:  # client_credentials tokens belong to no session
        result["sid"] = session_id
    return result
