"""Registration and login against a real auth store (throttling: test_throttling.py)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient

from shared.access_token import REQUIRED_CLAIMS
from tests.integration.conftest import AuthActions, assert_error, claims_of
from tests.support import STRONG_PASSWORD, FakeClock, random_name

TOKEN_RESPONSE_MEMBERS = {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
DEFAULT_SCOPE = "notes:read notes:write"


def register(client: FlaskClient, body: Any = None, **kwargs: Any) -> Any:
    return client.post("/auth/register", json=body, **kwargs)


# Registration ---------------------------------------------------------------------------------


def test_registering_answers_201_with_the_new_id_and_username(client: FlaskClient) -> None:
    username = random_name()

    response = register(client, {"username": username, "password": STRONG_PASSWORD})

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "username"}
    assert body["username"] == username
    assert isinstance(body["id"], str) and body["id"]


def test_the_registered_id_is_the_sub_of_the_users_access_tokens(
    client: FlaskClient, auth: AuthActions
) -> None:
    username = random_name()
    user = register(client, {"username": username, "password": STRONG_PASSWORD}).get_json()

    tokens = auth.session(username)

    assert claims_of(tokens["access_token"])["sub"] == user["id"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"password": STRONG_PASSWORD}, id="username-missing"),
        pytest.param({"username": None, "password": STRONG_PASSWORD}, id="username-null"),
        pytest.param({"username": 42, "password": STRONG_PASSWORD}, id="username-number"),
        pytest.param({"username": ["ann"], "password": STRONG_PASSWORD}, id="username-list"),
        pytest.param({"username": {"$ne": ""}, "password": STRONG_PASSWORD}, id="username-object"),
        pytest.param({"username": "", "password": STRONG_PASSWORD}, id="username-empty"),
        pytest.param({"username": "ab", "password": STRONG_PASSWORD}, id="username-too-short"),
        pytest.param({"username": "a" * 65, "password": STRONG_PASSWORD}, id="username-too-long"),
        pytest.param({"username": "-dash-first", "password": STRONG_PASSWORD}, id="username-dash"),
        pytest.param({"username": "has space", "password": STRONG_PASSWORD}, id="username-space"),
        pytest.param({"username": "ann@mail", "password": STRONG_PASSWORD}, id="username-at"),
        pytest.param({"username": "ännchen", "password": STRONG_PASSWORD}, id="username-umlaut"),
        pytest.param({"username": "ann-1234"}, id="password-missing"),
        pytest.param({"username": "ann-1234", "password": 1234567890}, id="password-number"),
        pytest.param({"username": "ann-1234", "password": "short-pw"}, id="password-too-short"),
        pytest.param({"username": "ann-1234", "password": "a" * 1025}, id="password-too-long"),
        pytest.param({"username": "ann-1234", "password": "abababababab"}, id="password-repeats"),
        pytest.param(
            {"username": "ann-1234", "password": "my ANN-1234 pw"}, id="password-username"
        ),
    ],
)
def test_registering_with_missing_malformed_or_weak_input_is_invalid_request(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    assert_error(register(client, body), 400, "invalid_request")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param('{"username": "ann-1234"', "application/json", id="truncated-json"),
        pytest.param('["ann-1234", "pw"]', "application/json", id="json-array"),
        pytest.param("null", "application/json", id="json-null"),
        pytest.param("", "application/json", id="empty-body"),
        pytest.param("username=ann-1234", "application/x-www-form-urlencoded", id="form"),
        pytest.param('{"username": "ann-1234", "password": "x"}', "text/plain", id="text-plain"),
    ],
)
def test_registering_with_a_body_that_is_not_a_json_object_is_invalid_request(
    client: FlaskClient, data: str, content_type: str
) -> None:
    response = client.post("/auth/register", data=data, content_type=content_type)

    assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("variant", [str.upper, str.title, lambda name: f"  {name}  "])
def test_registering_a_taken_username_in_any_case_is_a_conflict(
    client: FlaskClient, variant: Any
) -> None:
    username = random_name()
    register(client, {"username": username, "password": STRONG_PASSWORD})

    again = register(client, {"username": variant(username), "password": STRONG_PASSWORD})

    assert_error(again, 409, "conflict")


def test_a_username_is_stored_lower_case_and_logs_in_in_any_case(
    client: FlaskClient, auth: AuthActions
) -> None:
    username = random_name().upper()

    created = register(client, {"username": username, "password": STRONG_PASSWORD})

    assert created.get_json()["username"] == username.lower()
    assert auth.login(username.lower()).status_code == 200
    assert auth.login(username).status_code == 200


# Login ----------------------------------------------------------------------------------------


def test_login_answers_an_rfc6749_bearer_token_response(auth: AuthActions) -> None:
    response = auth.login(auth.register())

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == TOKEN_RESPONSE_MEMBERS
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == DEFAULT_SCOPE
    assert body["access_token"] != body["refresh_token"]


def test_every_token_response_forbids_caching(auth: AuthActions) -> None:
    login = auth.login(auth.register())
    refresh = auth.refresh(login.get_json()["refresh_token"])

    for response in (login, refresh):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"


def test_the_access_token_carries_the_contracts_header_and_claims(
    auth: AuthActions, clock: FakeClock
) -> None:
    token = auth.tokens()["access_token"]

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"
    assert header["kid"]
    claims = claims_of(token)
    assert set(REQUIRED_CLAIMS) <= set(claims)
    assert claims["iss"] == "http://localhost:8001"
    assert claims["aud"] == "tokenpair-resource"
    assert isinstance(claims["sub"], str)
    assert claims["iat"] == claims["nbf"] == int(clock().timestamp())
    assert claims["exp"] - claims["iat"] == 300
    assert claims["scope"] == DEFAULT_SCOPE


def test_a_login_token_names_the_built_in_first_party_client(auth: AuthActions) -> None:
    refreshed = auth.client.post(
        "/auth/refresh", json={"refresh_token": auth.tokens()["refresh_token"]}
    )

    assert claims_of(refreshed.get_json()["access_token"])["client_id"] == "tokenpair-first-party"


def test_unknown_user_and_wrong_password_get_the_same_answer(auth: AuthActions) -> None:
    username = auth.register()

    wrong_password = auth.login(username, "not the password at all")
    unknown_user = auth.login(random_name(), STRONG_PASSWORD)

    assert_error(wrong_password, 401, "invalid_grant")
    assert unknown_user.status_code == wrong_password.status_code
    assert unknown_user.get_json() == wrong_password.get_json()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"password": STRONG_PASSWORD}, id="username-missing"),
        pytest.param({"username": "ann-1234"}, id="password-missing"),
        pytest.param({"username": 7, "password": STRONG_PASSWORD}, id="username-number"),
        pytest.param({"username": "ann-1234", "password": ["x"]}, id="password-list"),
        pytest.param({"username": "ann-1234", "password": "a" * 1025}, id="password-too-long"),
        pytest.param(
            {"username": "ann-1234", "password": STRONG_PASSWORD, "scope": 1}, id="scope-number"
        ),
    ],
)
def test_login_with_missing_or_malformed_fields_is_invalid_request(
    client: FlaskClient, body: dict[str, Any]
) -> None:
    assert_error(client.post("/auth/login", json=body), 400, "invalid_request")


@pytest.mark.parametrize(
    ("asked", "granted"),
    [
        ("notes:read", "notes:read"),
        ("notes:write", "notes:write"),
        ("notes:write notes:read", DEFAULT_SCOPE),
        ("  notes:read   notes:read ", "notes:read"),
    ],
)
def test_a_login_may_ask_for_fewer_scopes(auth: AuthActions, asked: str, granted: str) -> None:
    tokens = auth.tokens(scope=asked)

    assert tokens["scope"] == granted
    assert claims_of(tokens["access_token"])["scope"] == granted


def test_a_narrowed_session_keeps_its_scope_when_refreshed(auth: AuthActions) -> None:
    tokens = auth.tokens(scope="notes:read")

    refreshed = auth.refresh(tokens["refresh_token"]).get_json()

    assert refreshed["scope"] == "notes:read"
    assert claims_of(refreshed["access_token"])["scope"] == "notes:read"


@pytest.mark.parametrize("scope", ["admin", "notes:read admin", "", "   ", "NOTES:READ"])
def test_a_login_asking_for_an_unknown_scope_is_invalid_scope(
    auth: AuthActions, scope: str
) -> None:
    response = auth.login(auth.register(), scope=scope)

    assert_error(response, 400, "invalid_scope")
