"""The auth store: users, OAuth clients, sessions, refresh tokens, codes, throttle counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth_service.extensions import db
from auth_service.tokens import FIRST_PARTY_CLIENT_ID
from shared.db import UTCDateTime


class User(db.Model):  # type: ignore[name-defined]
    """Someone who can log in; ``id`` is random, so it doubles as the non-guessable ``sub``."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Session(db.Model):  # type: ignore[name-defined]
    """One login: a chain of refresh tokens, only the newest of which is live."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The OAuth client the session was opened for; no foreign key, because the built-in
    # first-party client is no row, and a removed client's revoked sessions stay for the
    # audit trail until `sessions purge`. The default is for rows older than migration 0003.
    client_id: Mapped[str] = mapped_column(
        String(64), index=True, server_default=FIRST_PARTY_CLIENT_ID
    )
    scope: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written once, at login. A rotation writes nothing here: the idle expiry is derived
    # from the live refresh token's issued_at (chain.py), one statement fewer per refresh.
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Absolute lifetime: no rotation extends the session past this.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class RefreshToken(db.Model):  # type: ignore[name-defined]
    """A refresh token of a session, stored as a SHA-256 hash: the database holds no usable token.

    ``rotation_nonce`` is set, together with ``rotated_at``, by the one request that rotates
    this token; the child token is HMAC(parent token, nonce), so a retry that presents the
    parent again can be answered with the same child without the child ever being stored.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotation_nonce: Mapped[str | None] = mapped_column(String(32))

    session: Mapped[Session] = relationship(lazy="joined", innerjoin=True)


class ThrottleCounter(db.Model):  # type: ignore[name-defined]
    """Hits of one throttle key in its current fixed window, shared by every worker and replica.

    ``key`` is the SHA-256 of the rule and what it counts (an address, a username): the table
    holds no username or address in clear, not even a password typed into the username field.
    """

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int]
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OAuthClient(db.Model):  # type: ignore[name-defined]
    """A registered OAuth 2.0 client; confidential ones hold a secret, stored as its SHA-256.

    The endpoints read it as a ``clients.Client`` row, with one prebuilt statement.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # None for a public client (PKCE only). The secret is 256 random bits: see clients.py.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    # Compared exactly, character for character (RFC 9700 §4.1.3): no prefix, no pattern.
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The operator's own app: the authorization endpoint skips the approval step for it.
    first_party: Mapped[bool] = mapped_column(default=False, server_default=false())


class AuthorizationCode(db.Model):  # type: ignore[name-defined]
    """An authorization code (RFC 6749 §4.1.2), stored as its SHA-256, bound to its request.

    ``used_at`` is set by the one redemption that wins its conditional UPDATE, together with
    ``session_id``, the session that redemption opens: a replay revokes that session.
    """

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    # BASE64URL(SHA-256(code_verifier)): always 43 characters (RFC 7636 §4.2, S256 only).
    code_challenge: Mapped[str] = mapped_column(String(43))
    scope: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_id: Mapped[str | None] = mapped_column(String(32))
