"""The grants of the OAuth 2.0 token endpoint (RFC 6749 §4-6): rules only, no HTTP.

The refresh grant is sessions.refresh itself, bound to the client: rotation, grace and reuse
have one implementation for /auth/refresh and for OAuth clients alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth_service import authorization_codes, clients, sessions, throttling
from auth_service.clients import Client
from auth_service.context import Operation
from auth_service.errors import UnauthorizedClient
from shared.metrics import TOKENS_ISSUED
from shared.observability import audit


@dataclass(frozen=True)
class Issued:
    """What the token endpoint answers (RFC 6749 §5.1); no refresh token for client_credentials."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None


def refresh_token(
    op: Operation, client: Client, presented: str, scope: str | None, address: str
) -> Issued:
    """Rotate a refresh token of *client*'s session (RFC 6749 §6).

    §6: a scope asked for on refresh may not exceed the original grant; the session keeps its
    scope. sessions.refresh checks it in its one lookup, before the rotation, so a refused
    request leaves the token working.
    """
    pair = sessions.refresh(op, presented, address, client_id=client.id, scope=scope)
    return Issued(pair.access_token, pair.expires_in, pair.scope, pair.refresh_token)


def authorization_code(
    op: Operation,
    client: Client,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    address: str,
) -> Issued:
    """Exchange an authorization code and its PKCE verifier for a token pair (RFC 6749 §4.1.3)."""
    pair = authorization_codes.redeem(op, client, code, redirect_uri, code_verifier, address)
    return Issued(pair.access_token, pair.expires_in, pair.scope, pair.refresh_token)


def client_credentials(op: Operation, client: Client, scope: str | None, address: str) -> Issued:
    """Issue an access token to a confidential client for itself (RFC 6749 §4.4): sub = its id."""
    if not client.confidential:
        raise UnauthorizedClient("client_credentials is for confidential clients only")
    granted = clients.grantable_scope(client, scope)
    # Counted like a refresh: one rule for every token the endpoint hands out per address.
    throttling.count(op.db, op.now, op.deps.limits.address_refreshes.hit(address), client=address)
    op.db.commit()
    issuer = op.deps.issuer
    token = issuer.issue(
        subject=client.id, scope=granted, client_id=client.id, session_id=None, now=op.now
    )
    TOKENS_ISSUED.labels("access").inc()
    audit("client_credentials_issued", client_id=client.id, scope=granted)
    return Issued(token, int(issuer.ttl.total_seconds()), granted, None)
