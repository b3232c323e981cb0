"""OAuth 2.0 clients: registering, listing, removing, authenticating (RFC 6749 §2).

A confidential client's secret is 256 random bits, shown once, stored as its SHA-256. A slow
password hash (argon2) protects secrets people choose and reuse; a random 256-bit secret
cannot be guessed from its SHA-256 however fast the hash, so argon2 would only add tens of
milliseconds and memory to every token request (as for refresh tokens, tokens.token_hash).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, delete, select

from auth_service import sessions
from auth_service.context import Operation
from auth_service.errors import AuthError, InvalidClient, InvalidRequest, InvalidScope
from auth_service.models import OAuthClient
from auth_service.tokens import FIRST_PARTY_CLIENT_ID, token_hash
from shared.observability import audit

MAX_NAME_LENGTH = 100  # the column's width
MAX_REDIRECT_URI_LENGTH = 2000  # what every browser takes in a Location header
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ClientNotFound(AuthError):
    """No registered client has that id."""


class Client(NamedTuple):
    """A registered client, as every endpoint and command reads it (a row, not an ORM object)."""

    id: str
    name: str
    secret_hash: str | None  # None for a public client (PKCE only)
    redirect_uris: list[str]
    scope: str
    created_at: datetime
    first_party: bool

    @property
    def confidential(self) -> bool:
        """Return whether the client authenticates with a secret."""
        return self.secret_hash is not None


@dataclass(frozen=True)
class Registered:
    """A newly registered client, and its secret in clear (only now, only if confidential)."""

    client: Client
    secret: str | None


_clients: Table = OAuthClient.__table__
_COLUMNS = [_clients.c[name] for name in Client._fields]
# Every token request authenticates its client: one prebuilt statement, no ORM identity map
# (loading an ORM object cost as much CPU as the rest of an OAuth refresh grant's extras).
_FIND = select(*_COLUMNS).where(_clients.c.id == bindparam("client_id"))
_ALL = select(*_COLUMNS).order_by(_clients.c.created_at)


def register(
    op: Operation,
    name: str,
    redirect_uris: list[str],
    *,
    confidential: bool,
    scope: str | None,
    first_party: bool = False,
) -> Registered:
    """Register a client; InvalidRequest or InvalidScope say what is wrong with the input."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"the name must be 1 to {MAX_NAME_LENGTH} characters")
    if not redirect_uris:
        raise InvalidRequest("a client needs at least one --redirect-uri")
    for uri in redirect_uris:
        check_redirect_uri(uri)
    secret = secrets.token_urlsafe(32) if confidential else None
    client = Client(
        id=secrets.token_urlsafe(16),
        name=name,
        secret_hash=token_hash(secret) if secret else None,
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        scope=op.deps.policy.grant(scope),
        created_at=op.now,
        first_party=first_party,
    )
    op.db.add(OAuthClient(**client._asdict()))
    op.db.commit()
    audit(
        "client_registered", client_id=client.id, confidential=confidential, first_party=first_party
    )
    return Registered(client, secret)


def check_redirect_uri(uri: str) -> None:
    """Refuse a redirect URI that is not absolute https, or http on a loopback host (RFC 8252).

    A fragment is forbidden (RFC 6749 §3.1.2); a plain-http URI beyond loopback would carry
    the code over the network in clear.
    """
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise InvalidRequest(f"a redirect URI may have at most {MAX_REDIRECT_URI_LENGTH} chars")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise InvalidRequest(f"not a valid URI: {uri!r}") from None
    if parts.fragment or "#" in uri:
        raise InvalidRequest(f"a redirect URI must not have a fragment: {uri!r}")
    if not host or any(c.isspace() for c in uri):
        raise InvalidRequest(f"a redirect URI must be absolute, with a host: {uri!r}")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return
    raise InvalidRequest(f"a redirect URI must be https, or http on a loopback host: {uri!r}")


def all_clients(op: Operation) -> list[Client]:
    """Return every registered client, oldest first."""
    return [Client._make(row) for row in op.db.connection().execute(_ALL)]


def find(op: Operation, client_id: str) -> Client | None:
    """Return the registered client with this id, or None."""
    if client_id == FIRST_PARTY_CLIENT_ID:  # the built-in one is no row, and no OAuth client
        return None
    row = op.db.connection().execute(_FIND, {"client_id": client_id}).first()
    return None if row is None else Client._make(row)


def remove(op: Operation, client_id: str) -> int:
    """Remove a client and revoke its sessions; return how many were revoked."""
    client = find(op, client_id)
    if client is None:
        raise ClientNotFound(f"no client with id {client_id!r}")
    count = sessions.revoke_client_sessions(op, client_id)
    op.db.execute(delete(OAuthClient).where(OAuthClient.id == client_id))
    op.db.commit()
    audit("client_removed", client_id=client_id, sessions=count)
    return count


def secret_matches(client: Client, secret: str) -> bool:
    """Return whether *secret* is the client's, in time independent of where they differ."""
    if client.secret_hash is None:
        return False
    return hmac.compare_digest(client.secret_hash, token_hash(secret))


def auth_method(client: Client) -> str:
    """Return the client's RFC 7591 token_endpoint_auth_method (basic and post both work)."""
    return "client_secret_basic" if client.confidential else "none"


def authenticate(op: Operation, client_id: str, secret: str | None) -> Client:
    """Return the client, or raise InvalidClient: unknown, a wrong or missing secret.

    A public client has no secret to present (PKCE protects its codes); one that sends a
    secret anyway is refused rather than silently treated as authenticated.
    """
    client = find(op, client_id)
    if client is None:
        raise InvalidClient("Client authentication failed")
    if client.confidential:
        if secret is None or not secret_matches(client, secret):
            raise InvalidClient("Client authentication failed")
    elif secret is not None:
        raise InvalidClient("Client authentication failed: a public client has no secret")
    return client


def grantable_scope(client: Client, requested: str | None) -> str:
    """Return the scopes *client* gets for *requested* (all of its own by default).

    InvalidScope unless *requested* is a non-empty subset of the client's registered scopes.
    """
    allowed = client.scope.split()
    if requested is None:
        return client.scope
    asked = set(requested.split())
    if not asked or not asked <= set(allowed):
        raise InvalidScope(f"scope must be a space-separated subset of: {client.scope}")
    return " ".join(s for s in allowed if s in asked)
