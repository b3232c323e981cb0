"""The public contract walked over HTTP: every endpoint of both services, status by status."""

from __future__ import annotations

import jwt
import pytest

from tests.conformance.deployment import Deployment, bearer, login, refresh, sign_up
from tests.support import STRONG_PASSWORD, random_name

# The checks of the resource service alone (`--resource-server-only`): the auth service only
# issues the tokens they present.
RESOURCE_SERVER = pytest.mark.resource_server
RESOURCE = pytest.param("resource", marks=RESOURCE_SERVER)

TOKEN_RESPONSE_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "scope"}


def test_registering_answers_201_and_the_same_username_again_409(deployment: Deployment) -> None:
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    url = f"{deployment.auth_url}/auth/register"

    created = deployment.post(url, json=credentials)
    again = deployment.post(url, json=credentials)
    weak = deployment.post(url, json={"username": random_name(), "password": "short"})

    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "username": credentials["username"]}
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert weak.status_code == 400
    assert weak.json()["error"] == "invalid_request"


def test_login_answers_a_no_store_token_response(deployment: Deployment) -> None:
    username = random_name()
    deployment.post(
        f"{deployment.auth_url}/auth/register",
        json={"username": username, "password": STRONG_PASSWORD},
    ).raise_for_status()

    answer = login(deployment, username)

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == TOKEN_RESPONSE_FIELDS
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "notes:read notes:write"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    header = jwt.get_unverified_header(body["access_token"])
    assert (header["alg"], header["typ"]) == ("RS256", "at+jwt")
    refreshed = refresh(deployment, body["refresh_token"])
    assert refreshed.status_code == 200
    assert refreshed.headers["Cache-Control"] == "no-store"
    assert set(refreshed.json()) == TOKEN_RESPONSE_FIELDS


def test_login_gives_one_answer_for_an_unknown_user_and_a_wrong_password(
    deployment: Deployment,
) -> None:
    username = sign_up(deployment)["username"]

    unknown_user = login(deployment, random_name())
    wrong_password = login(deployment, username, "not the right password at all")

    assert unknown_user.status_code == wrong_password.status_code == 401
    assert unknown_user.json() == wrong_password.json()
    assert unknown_user.json()["error"] == "invalid_grant"


@RESOURCE_SERVER
def test_notes_are_created_read_listed_and_deleted_by_their_owner_only(
    deployment: Deployment,
) -> None:
    notes = f"{deployment.resource_url}/api/notes"
    owner = bearer(sign_up(deployment)["access_token"])
    stranger = bearer(sign_up(deployment)["access_token"])

    created = deployment.post(notes, json={"text": "buy milk"}, headers=owner)
    assert created.status_code == 201
    note = created.json()
    assert set(note) == {"id", "text", "created_at"}
    assert note["text"] == "buy milk"
    mine = f"{notes}/{note['id']}"

    assert deployment.get(notes, headers=owner).json() == {"notes": [note]}
    assert deployment.get(mine, headers=owner).json() == note
    assert deployment.get(notes, headers=stranger).json() == {"notes": []}
    assert deployment.get(mine, headers=stranger).status_code == 404
    assert deployment.delete(mine, headers=stranger).status_code == 404

    assert deployment.delete(mine, headers=owner).status_code == 204
    assert deployment.get(mine, headers=owner).status_code == 404
    assert deployment.delete(mine, headers=owner).status_code == 404
    assert deployment.get(notes, headers=owner).json() == {"notes": []}


@RESOURCE_SERVER
def test_a_read_only_login_can_read_notes_but_not_write_them(deployment: Deployment) -> None:
    notes = f"{deployment.resource_url}/api/notes"
    reader = sign_up(deployment, scope="notes:read")
    assert reader["scope"] == "notes:read"
    headers = bearer(reader["access_token"])

    assert deployment.get(notes, headers=headers).status_code == 200
    refused = deployment.post(notes, json={"text": "x"}, headers=headers)

    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    challenge = refused.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="tokenpair", error="insufficient_scope"')
    assert 'scope="notes:write"' in challenge


@pytest.mark.parametrize("service", [RESOURCE, "auth"])
def test_a_request_without_credentials_gets_a_bare_bearer_challenge(
    deployment: Deployment, service: str
) -> None:
    url = {
        "resource": f"{deployment.resource_url}/api/me",
        "auth": f"{deployment.auth_url}/auth/sessions",
    }[service]

    answer = deployment.get(url)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="tokenpair"'
    assert "error" in answer.json()


@RESOURCE_SERVER
@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer two tokens", "Token abc", "Bearer a,b"],
)
def test_a_malformed_authorization_header_gets_400_invalid_request(
    deployment: Deployment, authorization: str
) -> None:
    answer = deployment.get(
        f"{deployment.resource_url}/api/me",
        headers={"Authorization": authorization},
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
    deployment: Deployment, path: str, body: bytes, content_type: str
) -> None:
    answer = deployment.post(
        f"{deployment.auth_url}{path}",
        data=body,
        headers={"Content-Type": content_type},
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


def test_an_access_token_is_refused_as_a_refresh_token(deployment: Deployment) -> None:
    tokens = sign_up(deployment)

    answer = refresh(deployment, tokens["access_token"])

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_grant"


def test_logging_out_ends_the_session_so_its_refresh_token_is_refused(
    deployment: Deployment,
) -> None:
    tokens = sign_up(deployment)
    logout = f"{deployment.auth_url}/auth/logout"

    answer = deployment.post(logout, json={"refresh_token": tokens["refresh_token"]})
    unknown = deployment.post(logout, json={"refresh_token": "never-issued"})

    assert answer.status_code == 204
    assert answer.content == b""
    assert unknown.status_code == 204
    refused = refresh(deployment, tokens["refresh_token"])
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_grant"


def test_logging_out_everywhere_ends_every_session_of_that_user_only(
    deployment: Deployment,
) -> None:
    first = sign_up(deployment)
    second = login(deployment, first["username"]).json()
    bystander = sign_up(deployment)
    logout_all = f"{deployment.auth_url}/auth/logout-all"

    assert deployment.post(logout_all).status_code == 401
    answer = deployment.post(logout_all, headers=bearer(first["access_token"]))

    assert answer.status_code == 204
    assert refresh(deployment, first["refresh_token"]).status_code == 401
    assert refresh(deployment, second["refresh_token"]).status_code == 401
    assert refresh(deployment, bystander["refresh_token"]).status_code == 200


def test_a_user_lists_their_sessions_and_revokes_one_of_them(deployment: Deployment) -> None:
    sessions = f"{deployment.auth_url}/auth/sessions"
    laptop = sign_up(deployment)
    phone = login(deployment, laptop["username"]).json()
    stranger = bearer(sign_up(deployment)["access_token"])
    headers = bearer(laptop["access_token"])

    listed = deployment.get(sessions, headers=headers)
    assert listed.status_code == 200
    entries = listed.json()["sessions"]
    assert len(entries) == 2
    (current,) = [entry for entry in entries if entry["current"]]
    (other,) = [entry for entry in entries if not entry["current"]]
    other_url = f"{sessions}/{other['id']}"

    assert deployment.delete(other_url, headers=stranger).status_code == 404
    still_live = refresh(deployment, phone["refresh_token"])
    assert still_live.status_code == 200

    assert deployment.delete(other_url, headers=headers).status_code == 204
    assert deployment.delete(other_url, headers=headers).status_code == 404
    remaining = deployment.get(sessions, headers=headers).json()["sessions"]
    assert [entry["id"] for entry in remaining] == [current["id"]]
    assert refresh(deployment, still_live.json()["refresh_token"]).status_code == 401
    assert refresh(deployment, laptop["refresh_token"]).status_code == 200


def test_the_auth_service_publishes_its_signing_key_as_a_jwks(deployment: Deployment) -> None:
    access_token = sign_up(deployment)["access_token"]

    answer = deployment.get(f"{deployment.auth_url}/.well-known/jwks.json")

    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert keys
    for key in keys:
        assert {key["kty"], key["use"], key["alg"]} == {"RSA", "sig", "RS256"}
        assert key["kid"] and key["n"] and key["e"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private key material published"
    assert jwt.get_unverified_header(access_token)["kid"] in {key["kid"] for key in keys}


@pytest.mark.parametrize("service", ["auth", RESOURCE])
@pytest.mark.parametrize("probe", ["healthz", "readyz"])
def test_both_services_report_live_and_ready(
    deployment: Deployment, service: str, probe: str
) -> None:
    url = getattr(deployment, f"{service}_url")

    answer = deployment.get(f"{url}/{probe}")

    assert answer.status_code == 200, answer.text
