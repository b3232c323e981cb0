"""Integration fixtures: both apps in-process on a real, fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

import auth_service
import resource_service
from auth_service.extensions import db as auth_db
from auth_service.keystore import KeyStore
from auth_service.passwords import Passwords
from resource_service.extensions import db as resource_db
from tests.support import (
    GENEROUS_ADDRESS_LIMITS,
    STRONG_PASSWORD,
    FakeClock,
    fresh_database,
    random_name,
)

# Integration tests are about rules, not hashing cost: a cheap argon2id keeps them fast.
CHEAP_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def keys_dir(tmp_path: Path, clock: FakeClock) -> Path:
    directory = tmp_path / "keys"
    # Made a day ago, so a test may move the clock back and still sign.
    KeyStore(directory).create("RS256", clock() - timedelta(days=1))
    return directory


@pytest.fixture
def auth_env(tmp_path: Path, keys_dir: Path) -> dict[str, str]:
    """Environment of the auth app; a test may change it before asking for ``auth_app``."""
    return {
        "AUTH_KEYS_DIR": str(keys_dir),
        "AUTH_REFRESH_REUSE_GRACE": "10",
        **GENEROUS_ADDRESS_LIMITS,
    }


@pytest.fixture
def auth_app(
    database_kind: str, tmp_path: Path, auth_env: dict[str, str], clock: FakeClock
) -> Iterator[Flask]:
    with fresh_database(database_kind, tmp_path) as url:
        app = auth_service.create_app(
            {**auth_env, "AUTH_DATABASE_URL": url}, clock=clock, passwords=CHEAP_PASSWORDS
        )
        app.config["TESTING"] = True
        with app.app_context():
            upgrade()
        yield app
        with app.app_context():
            auth_db.session.remove()
            auth_db.engine.dispose()


@pytest.fixture
def client(auth_app: Flask) -> FlaskClient:
    return auth_app.test_client()


class AuthActions:
    """Drive the auth API the way a client would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, username: str | None = None, password: str = STRONG_PASSWORD) -> str:
        username = username or random_name()
        response = self.client.post(
            "/auth/register", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.get_json()
        return username

    def login(self, username: str, password: str = STRONG_PASSWORD, **extra: Any) -> Any:
        return self.client.post(
            "/auth/login", json={"username": username, "password": password, **extra}
        )

    def tokens(self, scope: str | None = None) -> dict[str, Any]:
        """Register a new user, log in, and return the token response."""
        extra = {} if scope is None else {"scope": scope}
        response = self.login(self.register(), **extra)
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json())

    def session(self, username: str, **extra: Any) -> dict[str, Any]:
        """Log an existing user in (a new session) and return the token response."""
        response = self.login(username, **extra)
        assert response.status_code == 200, response.get_json()
        return dict(response.get_json())

    def refresh(self, refresh_token: str) -> Any:
        return self.client.post("/auth/refresh", json={"refresh_token": refresh_token})


def bearer(access_token: str, scheme: str = "Bearer") -> dict[str, str]:
    """Return the Authorization header that presents *access_token*."""
    return {"Authorization": f"{scheme} {access_token}"}


def claims_of(access_token: str) -> dict[str, Any]:
    """Return an access token's claims without checking it (the services check it)."""
    return dict(jwt.decode(access_token, options={"verify_signature": False}))


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the one error shape of both services, with *status* and (optionally) *code*."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)[:500]
    assert set(body) == {"error", "error_description"}, body
    assert isinstance(body["error"], str) and isinstance(body["error_description"], str)
    if code is not None:
        assert body["error"] == code, body
    return dict(body)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def resource_env() -> dict[str, str]:
    """Extra environment of the resource app; a test may change it before asking for the app."""
    return {}


@pytest.fixture
def resource_app(
    database_kind: str,
    tmp_path: Path,
    auth_app: Flask,
    keys_dir: Path,
    clock: FakeClock,
    resource_env: dict[str, str],
) -> Iterator[Flask]:
    """The resource service, trusting the auth app's public keys through a JWKS file."""
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(
        auth_app.test_client().get("/.well-known/jwks.json").get_data(as_text=True)
    )
    with fresh_database(database_kind, tmp_path) as url:
        app = resource_service.create_app(
            {
                "RESOURCE_DATABASE_URL": url,
                "RESOURCE_PUBLIC_KEY_FILE": str(jwks_file),
                **resource_env,
            },
            clock=clock,
        )
        app.config["TESTING"] = True
        with app.app_context():
            upgrade()
        yield app
        with app.app_context():
            resource_db.session.remove()
            resource_db.engine.dispose()


@pytest.fixture
def api(resource_app: Flask) -> FlaskClient:
    return resource_app.test_client()
