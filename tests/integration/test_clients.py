"""`flask --app auth_service clients add|list|remove` and the client rules behind them."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text

import auth_service
from auth_service import sessions
from auth_service.context import operation
from auth_service.extensions import db as auth_db
from auth_service.models import OAuthClient, Session
from auth_service.tokens import new_refresh_token, token_hash
from tests.integration.conftest import AuthActions, claims_of
from tests.support import FakeClock, fresh_database, random_name

APP_URI = "https://app.example/callback"


def run(app: Flask, *args: str) -> Any:
    """Run a Flask CLI command of *app* in-process and return click's result."""
    return app.test_cli_runner().invoke(args=list(args))


def add(app: Flask, *args: str) -> dict[str, Any]:
    """Register a client through the CLI and return the JSON it printed."""
    result = run(app, "clients", "add", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_adding_a_public_client_prints_its_id_and_no_secret(auth_app: Flask) -> None:
    shown = add(auth_app, "Notes app", "--redirect-uri", APP_URI)

    assert "client_secret" not in shown
    assert shown["client_id"] and shown["name"] == "Notes app"
    assert shown["redirect_uris"] == [APP_URI]
    assert shown["scope"] == "notes:read notes:write"
    assert shown["token_endpoint_auth_method"] == "none"


def test_a_confidential_clients_secret_is_shown_once_and_stored_only_as_a_hash(
    auth_app: Flask,
) -> None:
    shown = add(auth_app, "Backend", "--redirect-uri", APP_URI, "--confidential")

    secret = shown["client_secret"]
    assert len(secret) >= 43  # 256 random bits, base64url
    assert shown["token_endpoint_auth_method"] == "client_secret_basic"
    with auth_app.app_context():
        stored = auth_db.session.get(OAuthClient, shown["client_id"])
        assert stored is not None
        assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    listed = run(auth_app, "clients", "list").output
    assert shown["client_id"] in listed and secret not in listed


def test_a_client_keeps_every_exact_redirect_uri_and_its_narrowed_scope(auth_app: Flask) -> None:
    second = "http://127.0.0.1:8765/cb"
    shown = add(
        auth_app,
        "Two",
        "--redirect-uri",
        APP_URI,
        "--redirect-uri",
        second,
        "--scope",
        "notes:read",
    )

    assert shown["redirect_uris"] == [APP_URI, second]
    assert shown["scope"] == "notes:read"


def test_listing_shows_every_client_with_its_type(auth_app: Flask) -> None:
    public = add(auth_app, "Public one", "--redirect-uri", APP_URI)
    private = add(auth_app, "Private one", "--redirect-uri", APP_URI, "--confidential")

    lines = run(auth_app, "clients", "list").output.splitlines()

    assert lines[0].split()[:3] == ["client_id", "type", "scope"]
    assert any(line.startswith(public["client_id"]) and " public " in line for line in lines)
    assert any(line.startswith(private["client_id"]) and " confidential " in line for line in lines)


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("https://app.example/cb#frag", "fragment"),
        ("/callback", "absolute"),
        ("http://app.example/cb", "https, or http on a loopback host"),
        ("ftp://app.example/cb", "https, or http on a loopback host"),
        ("javascript:alert(1)", "absolute"),
        ("https://[::1/cb", "not a valid URI"),
        ("https://app.example/" + "a" * 2000, "at most 2000"),
    ],
)
def test_adding_a_client_with_a_bad_redirect_uri_fails_with_one_line(
    auth_app: Flask, uri: str, why: str
) -> None:
    result = run(auth_app, "clients", "add", "Bad", "--redirect-uri", uri)

    assert result.exit_code == 1
    assert result.output.startswith("auth_service: ") and why in result.output
    assert result.output.count("\n") == 1


def test_adding_a_client_without_a_redirect_uri_or_with_an_unknown_scope_fails(
    auth_app: Flask,
) -> None:
    missing = run(auth_app, "clients", "add", "None")
    unknown = run(auth_app, "clients", "add", "X", "--redirect-uri", APP_URI, "--scope", "admin")

    assert missing.exit_code == 1 and "at least one --redirect-uri" in missing.output
    assert unknown.exit_code == 1 and "scope must be" in unknown.output
    assert "client_id" not in run(auth_app, "clients", "list").output.splitlines()[1:]


def test_removing_a_client_revokes_its_sessions_and_no_other(
    auth_app: Flask, auth: AuthActions
) -> None:
    shown = add(auth_app, "Doomed", "--redirect-uri", APP_URI)
    first_party = auth.tokens()
    user = claims_of(first_party["access_token"])["sub"]
    with auth_app.app_context():
        pair = sessions.open_session(operation(), user, "notes:read", shown["client_id"])
    assert claims_of(pair.access_token)["client_id"] == shown["client_id"]

    result = run(auth_app, "clients", "remove", shown["client_id"])

    assert result.exit_code == 0 and "revoked 1 sessions" in result.output
    assert auth.refresh(pair.refresh_token).status_code == 401
    assert auth.refresh(first_party["refresh_token"]).status_code == 200
    with auth_app.app_context():
        assert auth_db.session.get(OAuthClient, shown["client_id"]) is None
        reasons = auth_db.session.scalars(
            select(Session.revoked_reason).where(Session.client_id == shown["client_id"])
        )
        assert list(reasons) == ["client_removed"]


def test_removing_an_unknown_or_the_built_in_client_fails_with_one_line(auth_app: Flask) -> None:
    for client_id in ("no-such-client", "tokenpair-first-party"):
        result = run(auth_app, "clients", "remove", client_id)

        assert result.exit_code == 1
        assert result.output == f"auth_service: no client with id {client_id!r}\n"


def test_the_clients_migration_upgrades_a_populated_database_keeping_every_session(
    database_kind: str, tmp_path: Path, keys_dir: Path, clock: FakeClock
) -> None:
    refresh_token = new_refresh_token()
    with fresh_database(database_kind, tmp_path) as url:
        app = auth_service.create_app(
            {"AUTH_DATABASE_URL": url, "AUTH_KEYS_DIR": str(keys_dir)}, clock=clock
        )
        try:
            with app.app_context():
                upgrade(revision="0002")
                _session_at_revision_0002(clock, refresh_token)
                upgrade()
                client_ids = list(auth_db.session.scalars(select(Session.client_id)))

            refreshed = AuthActions(app.test_client()).refresh(refresh_token)

            assert client_ids == ["tokenpair-first-party"]
            assert refreshed.status_code == 200
            assert claims_of(refreshed.get_json()["access_token"])["client_id"] == client_ids[0]
            with app.app_context():
                downgrade(revision="0002")
                assert "oauth_clients" not in inspect(auth_db.engine).get_table_names()
                assert auth_db.session.scalar(select(func.count()).select_from(Session)) == 1
        finally:
            with app.app_context():
                auth_db.session.remove()
                auth_db.engine.dispose()


def _session_at_revision_0002(clock: FakeClock, refresh_token: str) -> None:
    """Insert a user with a session and a live refresh token as revision 0002 stores them."""
    now = clock().replace(tzinfo=None)
    with auth_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, password_hash, created_at) "
                "VALUES ('u1', :name, 'x', :now)"
            ),
            {"name": random_name(), "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO sessions (id, user_id, scope, created_at, refreshed_at, expires_at) "
                "VALUES ('s1', 'u1', 'notes:read', :now, :now, :later)"
            ),
            {"now": now, "later": now + timedelta(days=1)},
        )
        connection.execute(
            text(
                "INSERT INTO refresh_tokens (session_id, token_hash, issued_at) "
                "VALUES ('s1', :hash, :now)"
            ),
            {"hash": token_hash(refresh_token), "now": now},
        )


def test_a_first_party_client_is_registered_and_listed_as_such(auth_app: Flask) -> None:
    own = add(auth_app, "Own app", "--redirect-uri", APP_URI, "--first-party")
    other = add(auth_app, "Partner", "--redirect-uri", APP_URI)

    lines = run(auth_app, "clients", "list").output.splitlines()

    assert own["first_party"] is True and other["first_party"] is False
    assert lines[0].split()[:4] == ["client_id", "type", "scope", "first-party"]
    assert any(line.startswith(own["client_id"]) and " yes " in line for line in lines)
    assert any(line.startswith(other["client_id"]) and " no " in line for line in lines)
