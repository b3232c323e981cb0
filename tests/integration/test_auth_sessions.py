"""Logout, logout everywhere, and the user's own view of their sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of
from tests.support import FakeClock

NO_CREDENTIALS_CHALLENGE = 'Bearer realm="tokenpair"'
REFRESH_TTL = 1_209_600  # AUTH_REFRESH_TOKEN_TTL default


def logout(client: FlaskClient, refresh_token: Any) -> Any:
    return client.post("/auth/logout", json={"refresh_token": refresh_token})


def sessions(client: FlaskClient, access_token: str) -> list[dict[str, Any]]:
    response = client.get("/auth/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.get_json()
    return list(response.get_json()["sessions"])


def session_id(tokens: dict[str, Any]) -> str:
    return str(claims_of(tokens["access_token"])["sid"])


# Logout ---------------------------------------------------------------------------------------


def test_logout_answers_204_and_revokes_the_session(client: FlaskClient, auth: AuthActions) -> None:
    username = auth.register()
    leaving, staying = auth.session(username), auth.session(username)

    response = logout(client, leaving["refresh_token"])

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(auth.refresh(leaving["refresh_token"]), 401, "invalid_grant")
    assert [s["id"] for s in sessions(client, staying["access_token"])] == [session_id(staying)]


def test_logout_with_an_older_token_of_the_chain_revokes_the_session(
    client: FlaskClient, auth: AuthActions
) -> None:
    original = auth.tokens()["refresh_token"]
    newest = auth.refresh(original).get_json()["refresh_token"]

    assert logout(client, original).status_code == 204

    assert auth.refresh(newest).status_code == 401


@pytest.mark.parametrize("refresh_token", ["never-issued", "", "x" * 3000])
def test_logout_with_an_unknown_token_answers_204_as_well(
    client: FlaskClient, refresh_token: str
) -> None:
    response = logout(client, refresh_token)

    assert response.status_code == 204


def test_logging_out_twice_answers_204_both_times(client: FlaskClient, auth: AuthActions) -> None:
    refresh_token = auth.tokens()["refresh_token"]

    assert logout(client, refresh_token).status_code == 204
    assert logout(client, refresh_token).status_code == 204


@pytest.mark.parametrize("body", [{}, {"refresh_token": None}, {"refresh_token": 5}])
def test_logout_without_a_refresh_token_string_is_invalid_request(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    assert_error(client.post("/auth/logout", json=body), 400, "invalid_request")


# Logout everywhere ----------------------------------------------------------------------------


def test_logout_all_needs_a_bearer_access_token(client: FlaskClient) -> None:
    response = client.post("/auth/logout-all")

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == NO_CREDENTIALS_CHALLENGE


def test_logout_all_refuses_a_refresh_token_as_bearer(
    client: FlaskClient, auth: AuthActions
) -> None:
    tokens = auth.tokens()

    response = client.post("/auth/logout-all", headers=bearer(tokens["refresh_token"]))

    assert_error(response, 401, "invalid_token")
    assert auth.refresh(tokens["refresh_token"]).status_code == 200


def test_logout_all_revokes_every_session_of_the_user_and_no_one_elses(
    client: FlaskClient, auth: AuthActions
) -> None:
    username = auth.register()
    mine = [auth.session(username) for _ in range(3)]
    someone_elses = auth.tokens()

    response = client.post("/auth/logout-all", headers=bearer(mine[0]["access_token"]))

    assert response.status_code == 204
    for tokens in mine:
        assert_error(auth.refresh(tokens["refresh_token"]), 401, "invalid_grant")
    fresh = auth.session(username)
    assert [s["id"] for s in sessions(client, fresh["access_token"])] == [session_id(fresh)]
    assert auth.refresh(someone_elses["refresh_token"]).status_code == 200


def test_a_new_login_after_logout_all_works(client: FlaskClient, auth: AuthActions) -> None:
    username = auth.register()
    tokens = auth.session(username)
    client.post("/auth/logout-all", headers=bearer(tokens["access_token"]))

    again = auth.session(username)

    assert auth.refresh(again["refresh_token"]).status_code == 200


# Listing sessions -----------------------------------------------------------------------------


def test_sessions_lists_the_users_active_sessions_marking_the_current_one(
    client: FlaskClient, auth: AuthActions, clock: FakeClock
) -> None:
    username = auth.register()
    older = auth.session(username)
    clock.advance(1)
    newer = auth.session(username, scope="notes:read")  # listed, though it may not list
    auth.tokens()  # another user's session is not listed

    listed = sessions(client, older["access_token"])

    assert [s["id"] for s in listed] == [session_id(newer), session_id(older)]  # newest first
    assert [s["current"] for s in listed] == [False, True]
    assert [s["scope"] for s in listed] == ["notes:read", "notes:read notes:write"]
    for entry in listed:
        assert set(entry) == {
            "id",
            "scope",
            "created_at",
            "last_refreshed_at",
            "expires_at",
            "current",
        }


def test_a_session_shows_when_it_was_created_last_refreshed_and_expires(
    client: FlaskClient, auth: AuthActions, clock: FakeClock
) -> None:
    clock.advance(-100)
    tokens = auth.tokens()
    created_at = clock()
    clock.advance(40)
    refreshed = auth.refresh(tokens["refresh_token"]).get_json()
    refreshed_at = clock()
    clock.advance(60)

    (entry,) = sessions(client, refreshed["access_token"])

    assert entry["created_at"] == created_at.isoformat()
    assert entry["last_refreshed_at"] == refreshed_at.isoformat()
    assert entry["expires_at"] == (refreshed_at + timedelta(seconds=REFRESH_TTL)).isoformat()
    assert entry["current"] is True


def test_sessions_needs_a_bearer_access_token(client: FlaskClient) -> None:
    response = client.get("/auth/sessions")

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == NO_CREDENTIALS_CHALLENGE


class TestExpiredSessionsAreNotListed:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_REFRESH_TOKEN_TTL": "1000"}

    def test_an_idle_expired_session_is_not_listed(
        self, client: FlaskClient, auth: AuthActions, clock: FakeClock
    ) -> None:
        username = auth.register()
        clock.advance(-1000)
        auth.session(username)  # idle since 1000 s: its refresh token has just expired
        clock.advance(1000)
        current = auth.session(username)

        assert [s["id"] for s in sessions(client, current["access_token"])] == [session_id(current)]


# Revoking one session -------------------------------------------------------------------------


def test_deleting_one_of_my_sessions_answers_204_and_ends_it(
    client: FlaskClient, auth: AuthActions
) -> None:
    username = auth.register()
    phone, laptop = auth.session(username), auth.session(username)

    response = client.delete(
        f"/auth/sessions/{session_id(phone)}", headers=bearer(laptop["access_token"])
    )

    assert response.status_code == 204
    assert_error(auth.refresh(phone["refresh_token"]), 401, "invalid_grant")
    assert auth.refresh(laptop["refresh_token"]).status_code == 200


def test_deleting_my_current_session_ends_it(client: FlaskClient, auth: AuthActions) -> None:
    tokens = auth.tokens()

    response = client.delete(
        f"/auth/sessions/{session_id(tokens)}", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 204
    assert auth.refresh(tokens["refresh_token"]).status_code == 401


def test_deleting_someone_elses_session_is_404_and_leaves_it_alone(
    client: FlaskClient, auth: AuthActions
) -> None:
    victim, attacker = auth.tokens(), auth.tokens()

    response = client.delete(
        f"/auth/sessions/{session_id(victim)}", headers=bearer(attacker["access_token"])
    )

    assert_error(response, 404, "not_found")
    assert auth.refresh(victim["refresh_token"]).status_code == 200


@pytest.mark.parametrize("unknown", ["0" * 32, "no-such-session", "%00", "x" * 500])
def test_deleting_an_unknown_session_is_404(
    client: FlaskClient, auth: AuthActions, unknown: str
) -> None:
    tokens = auth.tokens()

    response = client.delete(f"/auth/sessions/{unknown}", headers=bearer(tokens["access_token"]))

    assert_error(response, 404, "not_found")


def test_deleting_an_already_revoked_session_is_404(client: FlaskClient, auth: AuthActions) -> None:
    username = auth.register()
    gone, current = auth.session(username), auth.session(username)
    logout(client, gone["refresh_token"])

    response = client.delete(
        f"/auth/sessions/{session_id(gone)}", headers=bearer(current["access_token"])
    )

    assert_error(response, 404, "not_found")


def test_deleting_a_session_needs_a_bearer_access_token(
    client: FlaskClient, auth: AuthActions
) -> None:
    tokens = auth.tokens()

    response = client.delete(f"/auth/sessions/{session_id(tokens)}")

    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"] == NO_CREDENTIALS_CHALLENGE
    assert auth.refresh(tokens["refresh_token"]).status_code == 200


# An access token whose session has ended ------------------------------------------------------

ENDED_CHALLENGE = (
    'Bearer realm="tokenpair", error="invalid_token", '
    'error_description="The access token\'s session has ended"'
)


def bearer_requests(other_session: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/auth/sessions"),
        ("DELETE", f"/auth/sessions/{other_session}"),
        ("POST", "/auth/logout-all"),
    ]


def assert_every_bearer_endpoint_refuses(
    client: FlaskClient, auth: AuthActions, ended: dict[str, Any], live: dict[str, Any]
) -> None:
    for method, path in bearer_requests(session_id(live)):
        response = client.open(path, method=method, headers=bearer(ended["access_token"]))
        assert_error(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"] == ENDED_CHALLENGE, (method, path)
    # None of them acted: the other session still refreshes.
    assert auth.refresh(live["refresh_token"]).status_code == 200


def test_a_logged_out_sessions_access_token_is_refused_by_every_bearer_endpoint(
    client: FlaskClient, auth: AuthActions
) -> None:
    username = auth.register()
    ended, live = auth.session(username), auth.session(username)
    logout(client, ended["refresh_token"])

    assert_every_bearer_endpoint_refuses(client, auth, ended, live)


def test_an_access_token_of_a_session_revoked_for_reuse_is_refused(
    client: FlaskClient, auth: AuthActions, clock: FakeClock
) -> None:
    username = auth.register()
    first, live = auth.session(username), auth.session(username)
    rotated = auth.refresh(first["refresh_token"]).get_json()
    clock.advance(11)  # past the grace window: presenting the parent again is theft
    assert auth.refresh(first["refresh_token"]).status_code == 401

    assert_every_bearer_endpoint_refuses(client, auth, rotated, live)


class TestAbsoluteExpiry:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_REFRESH_TOKEN_TTL": "1000", "AUTH_SESSION_MAX_AGE": "1000"}

    def test_an_access_token_outliving_its_expired_session_is_refused(
        self, client: FlaskClient, auth: AuthActions, clock: FakeClock
    ) -> None:
        clock.advance(-1010)  # the verifier reads the real clock: end the story at the real now
        username = auth.register()
        expiring = auth.session(username)
        clock.advance(990)
        late = auth.refresh(expiring["refresh_token"]).get_json()  # an access token for 300 s
        live = auth.session(username)
        clock.advance(20)  # the session's absolute lifetime is over; the token is not

        assert_every_bearer_endpoint_refuses(client, auth, late, live)


def test_the_access_token_of_a_live_session_still_acts(
    client: FlaskClient, auth: AuthActions
) -> None:
    tokens = auth.tokens()

    listed = client.get("/auth/sessions", headers=bearer(tokens["access_token"]))

    assert listed.status_code == 200
    assert [s["id"] for s in listed.get_json()["sessions"]] == [session_id(tokens)]
