"""The auth service's business rules: accounts, logins, rotation with reuse detection, logout.

Nothing here knows about HTTP; the views map these results and exceptions to responses.
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from auth_service.models import LoginFailures, RefreshToken, Session, User
from auth_service.passwords import Passwords
from auth_service.settings import Settings
from auth_service.tokens import (
    AccessTokenIssuer,
    child_token,
    new_refresh_token,
    new_rotation_nonce,
    token_hash,
)
from shared.metrics import REFRESHES, REUSE_DETECTIONS, SESSIONS_REVOKED, TOKENS_ISSUED
from shared.observability import audit

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024


class AuthError(Exception):
    """A request the rules refuse; the message is safe to show the client."""


class InvalidRequest(AuthError):
    """Missing, malformed or too weak input."""


class InvalidScope(AuthError):
    """A login asked for a scope this service does not grant."""


class UsernameTaken(AuthError):
    """Registration of a username that exists."""


class InvalidGrant(AuthError):
    """Bad credentials, or a refresh token that is unknown, expired, revoked or reused."""


class SessionNotFound(AuthError):
    """No active session with that id belongs to the caller."""


class LoginThrottled(AuthError):
    """Too many failed logins for this username; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenPair:
    """What a successful login or refresh returns (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    refresh_token: str
    scope: str


@dataclass(frozen=True)
class Policy:
    """The lifetimes and limits the rules enforce."""

    refresh_ttl: timedelta
    session_max_age: timedelta
    reuse_grace: timedelta
    scopes: tuple[str, ...]
    login_max_failures: int
    login_failure_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """Build the policy from validated settings."""
        return cls(
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl),
            session_max_age=timedelta(seconds=settings.session_max_age),
            reuse_grace=timedelta(seconds=settings.refresh_reuse_grace),
            scopes=settings.scopes,
            login_max_failures=settings.login_max_failures,
            login_failure_window=timedelta(seconds=settings.login_failure_window),
        )


class AuthService:
    """One unit of work at one instant: every rule below sees the same ``now``."""

    def __init__(
        self,
        db: DbSession,
        *,
        issuer: AccessTokenIssuer,
        passwords: Passwords,
        policy: Policy,
        now: datetime,
    ) -> None:
        self.db = db
        self.issuer = issuer
        self.passwords = passwords
        self.policy = policy
        self.now = now

    # Accounts -------------------------------------------------------------------------------

    def register(self, username: str, password: str) -> User:
        """Create a user; raise InvalidRequest for bad input, UsernameTaken if it exists."""
        name = username.strip().lower()
        if not USERNAME.fullmatch(name):
            raise InvalidRequest(
                "username must be 3-64 characters: letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        _check_password(password, name)
        user = User(
            id=uuid.uuid4().hex,
            username=name,
            password_hash=self.passwords.hash(password),
            created_at=self.now,
        )
        self.db.add(user)
        try:
            self.db.commit()
        except IntegrityError:
            self.db.rollback()
            raise UsernameTaken("That username is taken") from None
        audit("user_registered", user_id=user.id)
        return user

    def login(self, username: str, password: str, scope: str | None) -> TokenPair:
        """Check the password and open a new session; one answer for every kind of failure."""
        granted = self._grant(scope)
        if len(password) > PASSWORD_MAX_LENGTH:
            raise InvalidRequest(f"password must be at most {PASSWORD_MAX_LENGTH} characters")
        name = username.strip().lower()[:64]
        self._check_throttle(name)
        user = self.db.scalar(select(User).where(User.username == name))
        if not self.passwords.verify(user.password_hash if user else None, password):
            self._record_failure(name)
            audit("login_failed", username=name, known_user=user is not None)
            raise InvalidGrant("The username or password is incorrect")
        assert user is not None  # verify() is False without a stored hash
        self.db.execute(delete(LoginFailures).where(LoginFailures.username == name))
        if self.passwords.needs_rehash(user.password_hash):
            user.password_hash = self.passwords.hash(password)
        session = Session(
            id=secrets.token_hex(16),
            user_id=user.id,
            scope=granted,
            created_at=self.now,
            refreshed_at=self.now,
            expires_at=self.now + self.policy.session_max_age,
        )
        refresh_token = new_refresh_token()
        self.db.add(session)
        self.db.add(
            RefreshToken(session=session, token_hash=token_hash(refresh_token), issued_at=self.now)
        )
        self.db.commit()
        audit("login_succeeded", user_id=user.id, session_id=session.id, scope=granted)
        TOKENS_ISSUED.labels("refresh").inc()
        return self._pair(session, refresh_token)

    # Rotation -------------------------------------------------------------------------------

    def refresh(self, presented: str) -> TokenPair:
        """Rotate a refresh token: the presented one stops working, its child is returned.

        The rotation is one conditional UPDATE (``WHERE rotated_at IS NULL``): of any number of
        concurrent requests exactly one changes the row, and the others answer with the
        child that one created, if they arrive within the grace window.
        """
        row = self._find(presented)
        if row is None:
            REFRESHES.labels("rejected").inc()
            raise InvalidGrant("The refresh token is invalid")
        if not row.session.is_active(self.now, self.policy.refresh_ttl):
            REFRESHES.labels("rejected").inc()
            raise InvalidGrant("The refresh token's session has ended")
        if row.rotated_at is None:
            nonce = new_rotation_nonce()
            rotated = self.db.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=self.now, rotation_nonce=nonce)
                .execution_options(synchronize_session=False)
            )
            if rotated.rowcount == 1:  # type: ignore[attr-defined]
                return self._rotate(row.session, child_token(presented, nonce))
            # Another request rotated it first. The rollback expires `row`, so reading it
            # below loads what that request committed.
            self.db.rollback()
            return self._answer_reuse(row, presented, kind="concurrent")
        return self._answer_reuse(row, presented, kind="grace_retry")

    def _rotate(self, session: Session, child: str) -> TokenPair:
        # Core INSERT, not session.add(): the hot path skips the ORM's unit-of-work flush.
        self.db.execute(
            insert(RefreshToken).values(
                session_id=session.id, token_hash=token_hash(child), issued_at=self.now
            )
        )
        self.db.execute(
            update(Session)
            .where(Session.id == session.id)
            .values(refreshed_at=self.now)
            .execution_options(synchronize_session=False)
        )
        self.db.commit()
        REFRESHES.labels("rotated").inc()
        TOKENS_ISSUED.labels("refresh").inc()
        audit("refresh_rotated", user_id=session.user_id, session_id=session.id)
        return self._pair(session, child)

    def _answer_reuse(self, row: RefreshToken, presented: str, kind: str) -> TokenPair:
        # A rotated token again: an honest retry inside the grace window gets the same child,
        # as long as that child is still the live end of the chain; anything else is theft.
        session = row.session
        if (
            row.rotated_at is not None
            and row.rotation_nonce is not None
            and self.now - row.rotated_at <= self.policy.reuse_grace
            and session.is_active(self.now, self.policy.refresh_ttl)
        ):
            child = child_token(presented, row.rotation_nonce)
            live = self.db.scalar(
                select(RefreshToken.id).where(
                    RefreshToken.token_hash == token_hash(child), RefreshToken.rotated_at.is_(None)
                )
            )
            if live is not None:
                REUSE_DETECTIONS.labels(kind).inc()
                REFRESHES.labels("grace_retry").inc()
                audit("refresh_reuse", kind=kind, user_id=session.user_id, session_id=session.id)
                return self._pair(session, child)
        self._revoke(Session.id == session.id, reason="refresh_token_reuse")
        self.db.commit()
        REUSE_DETECTIONS.labels("theft").inc()
        REFRESHES.labels("rejected").inc()
        audit("refresh_reuse", kind="theft", user_id=session.user_id, session_id=session.id)
        raise InvalidGrant("The refresh token was already used; its session has been revoked")

    # Logout and sessions --------------------------------------------------------------------

    def logout(self, presented: str) -> None:
        """Revoke the session of a refresh token; an unknown token changes nothing."""
        row = self._find(presented)
        if row is not None:
            self._revoke(Session.id == row.session_id, reason="logout")
        self.db.commit()
        if row is not None:
            audit("logout", session_id=row.session_id)

    def logout_all(self, user_id: str) -> None:
        """Revoke every session of a user."""
        revoked = self._revoke(Session.user_id == user_id, reason="logout_all")
        self.db.commit()
        audit("logout_all", user_id=user_id, sessions=revoked)

    def active_sessions(self, user_id: str) -> list[Session]:
        """Return the user's sessions that can still be refreshed, newest first."""
        sessions = self.db.scalars(
            select(Session)
            .where(
                Session.user_id == user_id,
                Session.revoked_at.is_(None),
                Session.expires_at > self.now,
            )
            .order_by(Session.created_at.desc())
        )
        return [s for s in sessions if s.is_active(self.now, self.policy.refresh_ttl)]

    def revoke_session(self, user_id: str, session_id: str) -> None:
        """Revoke one of the user's active sessions; SessionNotFound if there is none such."""
        revoked = self._revoke(
            (Session.id == session_id) & (Session.user_id == user_id), reason="revoked_by_user"
        )
        self.db.commit()
        if revoked == 0:
            raise SessionNotFound("No active session with that id")
        audit("session_revoked", user_id=user_id, session_id=session_id)

    def purge(self, *, batch_size: int, revoked_retention: timedelta) -> int:
        """Delete expired and long-revoked sessions (with their tokens), one batch per commit."""
        ended = or_(
            Session.expires_at <= self.now,
            Session.refreshed_at <= self.now - self.policy.refresh_ttl,
            Session.revoked_at <= self.now - revoked_retention,
        )
        deleted = 0
        while True:
            ids = list(self.db.scalars(select(Session.id).where(ended).limit(batch_size)))
            if not ids:
                break
            self.db.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(ids)))
            self.db.execute(delete(Session).where(Session.id.in_(ids)))
            self.db.commit()
            deleted += len(ids)
        window_start = self.now - self.policy.login_failure_window
        self.db.execute(
            delete(LoginFailures).where(LoginFailures.window_started_at <= window_start)
        )
        self.db.commit()
        return deleted

    # Helpers --------------------------------------------------------------------------------

    def _find(self, presented: str) -> RefreshToken | None:
        return self.db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash(presented))
        )

    def _revoke(self, condition: object, *, reason: str) -> int:
        result = self.db.execute(
            update(Session)
            .where(condition, Session.revoked_at.is_(None))  # type: ignore[arg-type]
            .values(revoked_at=self.now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        revoked = int(result.rowcount)  # type: ignore[attr-defined]
        if revoked:
            SESSIONS_REVOKED.labels(reason).inc(revoked)
        return revoked

    def _pair(self, session: Session, refresh_token: str) -> TokenPair:
        access_token = self.issuer.issue(
            subject=session.user_id, scope=session.scope, session_id=session.id, now=self.now
        )
        TOKENS_ISSUED.labels("access").inc()
        return TokenPair(
            access_token=access_token,
            expires_in=int(self.issuer.ttl.total_seconds()),
            refresh_token=refresh_token,
            scope=session.scope,
        )

    def _grant(self, requested: str | None) -> str:
        if requested is None:
            return " ".join(self.policy.scopes)
        asked = set(requested.split())
        unknown = asked - set(self.policy.scopes)
        if not asked or unknown:
            raise InvalidScope(
                f"scope must be a space-separated subset of: {' '.join(self.policy.scopes)}"
            )
        return " ".join(scope for scope in self.policy.scopes if scope in asked)

    def _check_throttle(self, name: str) -> None:
        row = self.db.get(LoginFailures, name)
        if row is None or row.failures < self.policy.login_max_failures:
            return
        window_ends = row.window_started_at + self.policy.login_failure_window
        if window_ends > self.now:
            audit("login_throttled", username=name)
            raise LoginThrottled(math.ceil((window_ends - self.now).total_seconds()))

    def _record_failure(self, name: str) -> None:
        window_start = self.now - self.policy.login_failure_window
        counted = self.db.execute(
            update(LoginFailures)
            .where(LoginFailures.username == name, LoginFailures.window_started_at > window_start)
            .values(failures=LoginFailures.failures + 1)
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount == 0:  # type: ignore[attr-defined]
            # No open window: start one (a concurrent failure may have started it: count there).
            self.db.execute(delete(LoginFailures).where(LoginFailures.username == name))
            self.db.add(LoginFailures(username=name, failures=1, window_started_at=self.now))
        try:
            self.db.commit()
        except IntegrityError:
            self.db.rollback()
            self._record_failure(name)


def _check_password(password: str, username: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidRequest(
            f"password must be {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} characters long"
        )
    if username in password.lower() or len(set(password)) < 5:
        raise InvalidRequest("password is too weak: avoid the username and repeated characters")
