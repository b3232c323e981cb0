"""Refresh-token rotation, reuse detection, lifetimes, and what a stolen database is worth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from auth_service import sessions
from auth_service.api import operation
from auth_service.extensions import db
from auth_service.models import RefreshToken
from auth_service.tokens import child_token, token_hash
from tests.integration.conftest import AuthActions, assert_error, claims_of
from tests.support import FakeClock, run_concurrently

GRACE = 10  # AUTH_REFRESH_REUSE_GRACE in the auth_env fixture
REFRESH_TTL = 1_209_600  # AUTH_REFRESH_TOKEN_TTL default
CONCURRENT_REFRESHES = 16


def test_refreshing_answers_a_new_refresh_token_for_the_same_session(auth: AuthActions) -> None:
    tokens = auth.tokens()

    response = auth.refresh(tokens["refresh_token"])

    assert response.status_code == 200
    refreshed = response.get_json()
    assert refreshed["token_type"] == "Bearer"
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert claims_of(refreshed["access_token"])["sid"] == claims_of(tokens["access_token"])["sid"]


def test_a_chain_of_refreshes_keeps_working(auth: AuthActions, clock: FakeClock) -> None:
    refresh_token = auth.tokens()["refresh_token"]
    seen = {refresh_token}

    for _ in range(5):
        clock.advance(60)
        response = auth.refresh(refresh_token)
        assert response.status_code == 200
        refresh_token = response.get_json()["refresh_token"]
        seen.add(refresh_token)

    assert len(seen) == 6


@pytest.mark.parametrize("later", [0, 1, GRACE])
def test_a_retry_inside_the_grace_window_answers_the_same_new_refresh_token(
    auth: AuthActions, clock: FakeClock, later: int
) -> None:
    original = auth.tokens()["refresh_token"]
    first = auth.refresh(original).get_json()

    clock.advance(later)
    retry = auth.refresh(original)

    assert retry.status_code == 200
    assert retry.get_json()["refresh_token"] == first["refresh_token"]
    assert auth.refresh(first["refresh_token"]).status_code == 200  # the chain is still live


def test_a_rotated_token_presented_after_the_grace_window_is_refused(
    auth: AuthActions, clock: FakeClock
) -> None:
    original = auth.tokens()["refresh_token"]
    assert auth.refresh(original).status_code == 200

    clock.advance(GRACE + 1)

    assert_error(auth.refresh(original), 401, "invalid_grant")


def test_reusing_a_rotated_token_revokes_the_session_so_the_newest_token_fails_too(
    auth: AuthActions, clock: FakeClock
) -> None:
    original = auth.tokens()["refresh_token"]
    newest = auth.refresh(original).get_json()["refresh_token"]

    clock.advance(GRACE + 1)
    assert auth.refresh(original).status_code == 401

    assert_error(auth.refresh(newest), 401, "invalid_grant")


def test_a_retry_after_the_new_token_was_itself_rotated_revokes_the_session(
    auth: AuthActions,
) -> None:
    # Inside the grace window, but the child is no longer the live end of the chain: theft.
    original = auth.tokens()["refresh_token"]
    child = auth.refresh(original).get_json()["refresh_token"]
    grandchild = auth.refresh(child).get_json()["refresh_token"]

    assert_error(auth.refresh(original), 401, "invalid_grant")
    assert_error(auth.refresh(grandchild), 401, "invalid_grant")


def test_reuse_revokes_only_the_session_it_belongs_to(auth: AuthActions, clock: FakeClock) -> None:
    username = auth.register()
    stolen = auth.session(username)["refresh_token"]
    other_session = auth.session(username)["refresh_token"]
    auth.refresh(stolen)

    clock.advance(GRACE + 1)
    assert auth.refresh(stolen).status_code == 401

    assert auth.refresh(other_session).status_code == 200


def test_a_refresh_token_unused_for_its_idle_lifetime_is_refused(
    auth: AuthActions, clock: FakeClock
) -> None:
    refresh_token = auth.tokens()["refresh_token"]

    clock.advance(REFRESH_TTL)

    assert_error(auth.refresh(refresh_token), 401, "invalid_grant")


def test_refreshing_just_before_the_idle_lifetime_ends_starts_it_again(
    auth: AuthActions, clock: FakeClock
) -> None:
    refresh_token = auth.tokens()["refresh_token"]

    clock.advance(REFRESH_TTL - 1)
    response = auth.refresh(refresh_token)
    assert response.status_code == 200
    clock.advance(REFRESH_TTL - 1)

    assert auth.refresh(response.get_json()["refresh_token"]).status_code == 200


class TestAbsoluteSessionLifetime:
    """AUTH_SESSION_MAX_AGE bounds a session however often it is refreshed."""

    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_REFRESH_TOKEN_TTL": "1000", "AUTH_SESSION_MAX_AGE": "3000"}

    def test_regular_refreshes_do_not_extend_a_session_past_its_maximum_age(
        self, auth: AuthActions, clock: FakeClock
    ) -> None:
        refresh_token = auth.tokens()["refresh_token"]
        for _ in range(3):  # at 900, 1800 and 2700 seconds: each inside the idle lifetime
            clock.advance(900)
            response = auth.refresh(refresh_token)
            assert response.status_code == 200
            refresh_token = response.get_json()["refresh_token"]

        clock.advance(300)  # 3000 seconds after login; the token itself is only 300 s old

        assert_error(auth.refresh(refresh_token), 401, "invalid_grant")

    def test_a_session_refreshes_until_its_last_second(
        self, auth: AuthActions, clock: FakeClock
    ) -> None:
        refresh_token = auth.tokens()["refresh_token"]
        clock.advance(900)
        refresh_token = auth.refresh(refresh_token).get_json()["refresh_token"]
        clock.advance(900)
        refresh_token = auth.refresh(refresh_token).get_json()["refresh_token"]
        clock.advance(900)
        refresh_token = auth.refresh(refresh_token).get_json()["refresh_token"]

        clock.advance(299)

        assert auth.refresh(refresh_token).status_code == 200


def test_an_access_token_presented_as_a_refresh_token_is_invalid_grant(
    auth: AuthActions,
) -> None:
    tokens = auth.tokens()

    assert_error(auth.refresh(tokens["access_token"]), 401, "invalid_grant")
    assert auth.refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("presented", ["", "unknown", "x" * 4000, "Bearer abc"])
def test_an_unknown_refresh_token_is_invalid_grant(auth: AuthActions, presented: str) -> None:
    assert_error(auth.refresh(presented), 401, "invalid_grant")


@pytest.mark.parametrize("body", [{}, {"refresh_token": None}, {"refresh_token": 1}])
def test_a_refresh_without_a_refresh_token_string_is_invalid_request(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    assert_error(client.post("/auth/refresh", json=body), 400, "invalid_request")


def test_a_logged_out_sessions_refresh_token_is_invalid_grant(auth: AuthActions) -> None:
    refresh_token = auth.tokens()["refresh_token"]
    auth.client.post("/auth/logout", json={"refresh_token": refresh_token})

    assert_error(auth.refresh(refresh_token), 401, "invalid_grant")


# A copy of the auth database ------------------------------------------------------------------


def stored_values(app: Flask) -> list[str]:
    """Return every non-null value of every column of every table, as text."""
    values = []
    with app.app_context():
        with db.engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    values += [str(value) for value in row if value is not None]
    return values


def test_no_value_in_a_copy_of_the_auth_database_works_as_a_refresh_token(
    auth_app: Flask, auth: AuthActions
) -> None:
    login = auth.tokens()["refresh_token"]
    live = auth.refresh(login).get_json()["refresh_token"]  # the table now holds a rotation too
    with auth_app.app_context():
        session_rows = db.session.execute(text("SELECT * FROM sessions")).all()
        token_rows = db.session.execute(text("SELECT * FROM refresh_tokens")).all()
        nonces = [n for n in db.session.scalars(select(RefreshToken.rotation_nonce)) if n]
    assert len(token_rows) == 2 and len(nonces) == 1
    candidates = {str(value) for row in [*session_rows, *token_rows] for value in row}
    # What a thief could derive: a child from a stored hash and a stored nonce.
    candidates |= {child_token(value, nonce) for value in candidates for nonce in nonces}

    for candidate in sorted(candidates):
        assert auth.refresh(candidate).status_code == 401, candidate

    assert auth.refresh(live).status_code == 200  # and the guessing revoked nothing


def test_no_plain_refresh_token_is_stored_anywhere(
    auth_app: Flask, auth: AuthActions, database_kind: str
) -> None:
    login = auth.tokens()["refresh_token"]
    child = auth.refresh(login).get_json()["refresh_token"]
    grandchild = auth.refresh(child).get_json()["refresh_token"]
    plain = [login, child, grandchild]

    for value in stored_values(auth_app):
        assert not any(token in value for token in plain), value

    if database_kind == "sqlite":  # the raw file too, write-ahead log included
        path = Path(str(make_url(auth_app.config["SQLALCHEMY_DATABASE_URI"]).database))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
        assert raw and not any(token.encode() in raw for token in plain)


# Concurrency ----------------------------------------------------------------------------------


def unrotated_tokens(app: Flask, session_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(RefreshToken.token_hash).where(
                    RefreshToken.session_id == session_id, RefreshToken.rotated_at.is_(None)
                )
            )
        )


def count_tokens(app: Flask, session_id: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count())
                .select_from(RefreshToken)
                .where(RefreshToken.session_id == session_id)
            )
        )


def test_concurrent_refreshes_of_one_token_all_get_one_and_the_same_new_token(
    auth_app: Flask, auth: AuthActions
) -> None:
    tokens = auth.tokens()
    session_id = claims_of(tokens["access_token"])["sid"]

    def refresh_in_own_app_context() -> str:
        with auth_app.app_context():
            return sessions.refresh(operation(), tokens["refresh_token"], "127.0.0.1").refresh_token

    answers = run_concurrently(CONCURRENT_REFRESHES, refresh_in_own_app_context)

    assert len(answers) == CONCURRENT_REFRESHES
    assert len(set(answers)) == 1
    (new_token,) = set(answers)
    assert new_token != tokens["refresh_token"]
    assert unrotated_tokens(auth_app, session_id) == [token_hash(new_token)]
    assert count_tokens(auth_app, session_id) == 2
    assert auth.refresh(new_token).status_code == 200


def test_concurrent_refresh_requests_all_answer_200_with_the_same_new_token(
    auth_app: Flask, auth: AuthActions
) -> None:
    tokens = auth.tokens()
    session_id = claims_of(tokens["access_token"])["sid"]

    def post_refresh() -> Any:
        response = auth_app.test_client().post(
            "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        return response.status_code, response.get_json()["refresh_token"]

    answers = run_concurrently(CONCURRENT_REFRESHES, post_refresh)

    assert {status for status, _ in answers} == {200}
    assert len({new_token for _, new_token in answers}) == 1
    assert len(unrotated_tokens(auth_app, session_id)) == 1
