"""The auth service's dependencies, bound once in the factory, and what each operation sees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy.orm import Session as DbSession

from auth_service.extensions import db
from auth_service.keystore import KeyRing
from auth_service.passwords import Passwords
from auth_service.policy import Policy
from auth_service.settings import Settings
from auth_service.throttling import Limits
from auth_service.tokens import AccessTokenIssuer
from shared.bearer import AccessTokenVerifier

_EXTENSION = "tokenpair.auth"


@dataclass(frozen=True)
class AuthDeps:
    """Everything the views, the CLI and the rules need, built once per app."""

    settings: Settings
    keys: KeyRing
    clock: Callable[[], datetime]
    passwords: Passwords
    policy: Policy
    limits: Limits
    issuer: AccessTokenIssuer
    # Checks access tokens as a resource service does (its own key ring, same clock).
    verifier: AccessTokenVerifier


@dataclass(frozen=True)
class Operation:
    """One operation of the rules: its database session, the dependencies, and one ``now``."""

    db: DbSession
    deps: AuthDeps
    now: datetime


def bind(app: Flask, deps: AuthDeps) -> None:
    """Make *deps* the dependencies of *app*."""
    app.extensions[_EXTENSION] = deps


def deps() -> AuthDeps:
    """Return the dependencies of the current app."""
    bound: AuthDeps = current_app.extensions[_EXTENSION]
    return bound


def operation() -> Operation:
    """Return a database session of the current app, its dependencies and one ``now``."""
    bound = deps()
    return Operation(db.session(), bound, bound.clock())
