"""Accounts: registration and the password step of a login, both limited per client address."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from auth_service import sessions, throttling
from auth_service.context import Operation
from auth_service.errors import InvalidGrant, UsernameTaken
from auth_service.models import User
from auth_service.password_policy import (
    check_new_password,
    check_password_length,
    check_username,
    normalise_username,
)
from auth_service.sessions import TokenPair
from shared.observability import audit


def register(op: Operation, username: str, password: str, address: str) -> User:
    """Create a user; InvalidRequest for bad input, UsernameTaken if it exists, Throttled.

    Two commits: the attempt is counted (and committed) before the slow hash, then the user
    is inserted. A 409 counts too: every attempt that reaches the hash costs argon2 work.
    """
    name = normalise_username(username)
    check_username(name)
    check_new_password(password, name)
    throttling.count(
        op.db, op.now, op.deps.limits.address_registrations.hit(address), client=address
    )
    op.db.commit()
    user = User(
        id=uuid.uuid4().hex,
        username=name,
        password_hash=op.deps.passwords.hash(password),
        created_at=op.now,
    )
    op.db.add(user)
    try:
        op.db.commit()
    except IntegrityError:
        op.db.rollback()
        raise UsernameTaken("That username is taken") from None
    audit("user_registered", user_id=user.id)
    return user


def login(
    op: Operation, username: str, password: str, scope: str | None, address: str
) -> TokenPair:
    """Check the password under the throttles and open a session; one answer for any failure."""
    granted = op.deps.policy.grant(scope)
    user = authenticate(op, username, password, address)
    return sessions.open_session(op, user.id, granted)


def authenticate(op: Operation, username: str, password: str, address: str) -> User:
    """Return the user whose password this is, under the login throttles; InvalidGrant if none.

    The password step of /auth/login and of the authorization endpoint's login page alike.
    Two commits, on purpose: the first takes a slot of every limit before the password is
    checked (so check and count are one atomic step, and no lock is held while argon2 runs);
    the second gives the failure slots back.
    """
    check_password_length(password)
    name = normalise_username(username)
    limits = op.deps.limits
    per_name = limits.login_failures.hit(address, name)
    per_address = limits.address_login_failures.hit(address)
    windows = throttling.count(
        op.db, op.now, per_name, per_address, limits.address_logins.hit(address), client=address
    )
    op.db.commit()
    user = op.db.scalar(select(User).where(User.username == name))
    if not op.deps.passwords.verify(user.password_hash if user else None, password):
        # Never the name typed: it may be someone's password, or identify a non-user.
        audit("login_failed", user_id=user.id if user else None, client=address)
        raise InvalidGrant("The username or password is incorrect")
    assert user is not None  # verify() is False without a stored hash
    throttling.forget(op.db, per_name)
    throttling.release(op.db, per_address, windows[per_address.key])
    if op.deps.passwords.needs_rehash(user.password_hash):
        user.password_hash = op.deps.passwords.hash(password)
    op.db.commit()
    return user
