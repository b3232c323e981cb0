"""The public contract walked over HTTP: every endpoint of both services, status by status."""

from __future__ import annotations

import jwt
import pytest
import requests

from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, refresh, sign_up
from tests.support import STRONG_PASSWORD, random_name

TOKEN_RESPONSE_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "scope"}


def login(stack: Stack, username: str, password: str = STRONG_PASSWORD) -> requests.Response:
    return requests.post(
        f"{stack.auth.url}/auth/login",
        json={"username": username, "password": password},
        timeout=HTTP_TIMEOUT,
    )


def test_registering_answers_201_and_the_same_username_again_409(shared_stack: Stack) -> None:
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    url = f"{shared_stack.auth.url}/auth/register"

    created = requests.post(url, json=credentials, timeout=HTTP_TIMEOUT)
    again = requests.post(url, json=credentials, timeout=HTTP_TIMEOUT)
    weak = requests.post(
        url, json={"username": random_name(), "password": "short"}, timeout=HTTP_TIMEOUT
    )

    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "username": credentials["username"]}
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert weak.status_code == 400
    assert weak.json()["error"] == "invalid_request"


def test_login_answers_a_no_store_token_response(shared_stack: Stack) -> None:
    username = random_name()
    requests.post(
        f"{shared_stack.auth.url}/auth/register",
        json={"username": username, "password": STRONG_PASSWORD},
        timeout=HTTP_TIMEOUT,
    ).raise_for_status()

    answer = login(shared_stack, username)

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == TOKEN_RESPONSE_FIELDS
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "notes:read notes:write"
    assert body["expires_in"] == 300
    header = jwt.get_unverified_header(body["access_token"])
    assert (header["alg"], header["typ"]) == ("RS256", "at+jwt")
    refreshed = refresh(shared_stack, body["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.headers["Cache-Control"] == "no-store"
    assert set(refreshed.json()) == TOKEN_RESPONSE_FIELDS


def test_login_gives_one_answer_for_an_unknown_user_and_a_wrong_password(
    shared_stack: Stack,
) -> None:
    username = sign_up(shared_stack)["username"]

    unknown_user = login(shared_stack, random_name())
    wrong_password = login(shared_stack, username, "not the right password at all")

    assert unknown_user.status_code == wrong_password.status_code == 401
    assert unknown_user.json() == wrong_password.json()
    assert unknown_user.json()["error"] == "invalid_grant"


def test_notes_are_created_read_listed_and_deleted_by_their_owner_only(shared_stack: Stack) -> None:
    notes = f"{shared_stack.resource.url}/api/notes"
    owner = bearer(sign_up(shared_stack)["access_token"])
    stranger = bearer(sign_up(shared_stack)["access_token"])

    created = requests.post(notes, json={"text": "buy milk"}, headers=owner, timeout=HTTP_TIMEOUT)
    assert created.status_code == 201
    note = created.json()
    assert set(note) == {"id", "text", "created_at"}
    assert note["text"] == "buy milk"
    mine = f"{notes}/{note['id']}"

    assert requests.get(notes, headers=owner, timeout=HTTP_TIMEOUT).json() == {"notes": [note]}
    assert requests.get(mine, headers=owner, timeout=HTTP_TIMEOUT).json() == note
    assert requests.get(notes, headers=stranger, timeout=HTTP_TIMEOUT).json() == {"notes": []}
    assert requests.get(mine, headers=stranger, timeout=HTTP_TIMEOUT).status_code == 404
    assert requests.delete(mine, headers=stranger, timeout=HTTP_TIMEOUT).status_code == 404

    assert requests.delete(mine, headers=owner, timeout=HTTP_TIMEOUT).status_code == 204
    assert requests.get(mine, headers=owner, timeout=HTTP_TIMEOUT).status_code == 404
    assert requests.delete(mine, headers=owner, timeout=HTTP_TIMEOUT).status_code == 404
    assert requests.get(notes, headers=owner, timeout=HTTP_TIMEOUT).json() == {"notes": []}


def test_a_read_only_login_can_read_notes_but_not_write_them(shared_stack: Stack) -> None:
    notes = f"{shared_stack.resource.url}/api/notes"
    reader = sign_up(shared_stack, scope="notes:read")
    assert reader["scope"] == "notes:read"
    headers = bearer(reader["access_token"])

    assert requests.get(notes, headers=headers, timeout=HTTP_TIMEOUT).status_code == 200
    refused = requests.post(notes, json={"text": "x"}, headers=headers, timeout=HTTP_TIMEOUT)

    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    challenge = refused.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="tokenpair", error="insufficient_scope"')
    assert 'scope="notes:write"' in challenge


@pytest.mark.parametrize("service", ["resource", "auth"])
def test_a_request_without_credentials_gets_a_bare_bearer_challenge(
    shared_stack: Stack, service: str
) -> None:
    url = {
        "resource": f"{shared_stack.resource.url}/api/me",
        "auth": f"{shared_stack.auth.url}/auth/sessions",
    }[service]

    answer = requests.get(url, timeout=HTTP_TIMEOUT)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="tokenpair"'
    assert "error" in answer.json()


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer two tokens", "Token abc", "Bearer a,b"],
)
def test_a_malformed_authorization_header_gets_400_invalid_request(
    shared_stack: Stack, authorization: str
) -> None:
    answer = requests.get(
        f"{shared_stack.resource.url}/api/me",
        headers={"Authorization": authorization},
        timeout=HTTP_TIMEOUT,
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="tokenpair", error="invalid_request"')


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        ("/auth/register", b"not json", "application/json"),
        ("/auth/login", b"[1, 2]", "application/json"),
        ("/auth/refresh", b'{"refresh_token": 42}', "application/json"),
        ("/auth/logout", b"{}", "application/json"),
        ("/auth/login", b'{"username": "a", "password": "b"}', "text/plain"),
        ("/auth/register", b"\xff\xfe", "application/json"),
    ],
)
def test_a_malformed_request_body_gets_400_invalid_request(
    shared_stack: Stack, path: str, body: bytes, content_type: str
) -> None:
    answer = requests.post(
        f"{shared_stack.auth.url}{path}",
        data=body,
        headers={"Content-Type": content_type},
        timeout=HTTP_TIMEOUT,
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


def test_an_access_token_is_refused_as_a_refresh_token(shared_stack: Stack) -> None:
    tokens = sign_up(shared_stack)

    answer = refresh(shared_stack, tokens["access_token"])

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_grant"


def test_logging_out_ends_the_session_so_its_refresh_token_is_refused(shared_stack: Stack) -> None:
    tokens = sign_up(shared_stack)
    logout = f"{shared_stack.auth.url}/auth/logout"

    answer = requests.post(
        logout, json={"refresh_token": tokens["refresh_token"]}, timeout=HTTP_TIMEOUT
    )
    unknown = requests.post(logout, json={"refresh_token": "never-issued"}, timeout=HTTP_TIMEOUT)

    assert answer.status_code == 204
    assert answer.content == b""
    assert unknown.status_code == 204
    refused = refresh(shared_stack, tokens["refresh_token"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_grant"


def test_logging_out_everywhere_ends_every_session_of_that_user_only(shared_stack: Stack) -> None:
    first = sign_up(shared_stack)
    second = login(shared_stack, first["username"]).json()
    bystander = sign_up(shared_stack)
    logout_all = f"{shared_stack.auth.url}/auth/logout-all"

    assert requests.post(logout_all, timeout=HTTP_TIMEOUT).status_code == 401
    answer = requests.post(logout_all, headers=bearer(first["access_token"]), timeout=HTTP_TIMEOUT)

    assert answer.status_code == 204
    assert refresh(shared_stack, first["refresh_token"]).status_code == 401
    assert refresh(shared_stack, second["refresh_token"]).status_code == 401
    assert refresh(shared_stack, bystander["refresh_token"]).status_code == 200


def test_a_user_lists_their_sessions_and_revokes_one_of_them(shared_stack: Stack) -> None:
    sessions = f"{shared_stack.auth.url}/auth/sessions"
    laptop = sign_up(shared_stack)
    phone = login(shared_stack, laptop["username"]).json()
    stranger = bearer(sign_up(shared_stack)["access_token"])
    headers = bearer(laptop["access_token"])

    listed = requests.get(sessions, headers=headers, timeout=HTTP_TIMEOUT)
    assert listed.status_code == 200
    entries = listed.json()["sessions"]
    assert len(entries) == 2
    (current,) = [entry for entry in entries if entry["current"]]
    (other,) = [entry for entry in entries if not entry["current"]]
    other_url = f"{sessions}/{other['id']}"

    assert requests.delete(other_url, headers=stranger, timeout=HTTP_TIMEOUT).status_code == 404
    still_live = refresh(shared_stack, phone["refresh_token"])
    assert still_live.status_code == 200

    assert requests.delete(other_url, headers=headers, timeout=HTTP_TIMEOUT).status_code == 204
    assert requests.delete(other_url, headers=headers, timeout=HTTP_TIMEOUT).status_code == 404
    remaining = requests.get(sessions, headers=headers, timeout=HTTP_TIMEOUT).json()["sessions"]
    assert [entry["id"] for entry in remaining] == [current["id"]]
    assert refresh(shared_stack, still_live.json()["refresh_token"]).status_code == 401
    assert refresh(shared_stack, laptop["refresh_token"]).status_code == 200


def test_the_auth_service_publishes_its_signing_key_as_a_jwks(shared_stack: Stack) -> None:
    access_token = sign_up(shared_stack)["access_token"]

    answer = requests.get(f"{shared_stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)

    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert keys
    for key in keys:
        assert {key["kty"], key["use"], key["alg"]} == {"RSA", "sig", "RS256"}
        assert key["kid"] and key["n"] and key["e"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private key material published"
    assert jwt.get_unverified_header(access_token)["kid"] in {key["kid"] for key in keys}


@pytest.mark.parametrize("service", ["auth", "resource"])
@pytest.mark.parametrize("probe", ["healthz", "readyz"])
def test_both_services_report_live_and_ready(shared_stack: Stack, service: str, probe: str) -> None:
    url = getattr(shared_stack, service).url

    answer = requests.get(f"{url}/{probe}", timeout=HTTP_TIMEOUT)

    assert answer.status_code == 200, answer.text
