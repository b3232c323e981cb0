"""The auth store: users, sessions (one per login), their refresh tokens, throttle counters."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from auth_service.extensions import db
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
    scope: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Last rotation: the live refresh token expires refresh_ttl after it (idle lifetime).
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Absolute lifetime: no rotation extends the session past this.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    def idle_expires_at(self, refresh_ttl: timedelta) -> datetime:
        """Return when the live refresh token stops working if it is not used."""
        return min(self.refreshed_at + refresh_ttl, self.expires_at)

    def is_active(self, now: datetime, refresh_ttl: timedelta) -> bool:
        """Return whether the session can still be refreshed at *now*."""
        return self.revoked_at is None and now < self.idle_expires_at(refresh_ttl)


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
