"""The resource service: who the caller is, their notes, and nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of
from tests.support import FakeClock

MAX_NOTE_LENGTH = 10_000
INSUFFICIENT_WRITE = 'Bearer realm="tokenpair", error="insufficient_scope", scope="notes:write"'
INSUFFICIENT_READ = 'Bearer realm="tokenpair", error="insufficient_scope", scope="notes:read"'


@pytest.fixture
def user(auth: AuthActions) -> dict[str, str]:
    """The Authorization header of a freshly registered user with every scope."""
    return bearer(auth.tokens()["access_token"])


def create_note(api: FlaskClient, headers: dict[str, str], text: str = "buy milk") -> Any:
    response = api.post("/api/notes", json={"text": text}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# /api/me ---------------------------------------------------------------------------------------


def test_me_answers_the_callers_sub_scope_and_expiry(auth: AuthActions, api: FlaskClient) -> None:
    tokens = auth.tokens()
    claims = claims_of(tokens["access_token"])

    response = api.get("/api/me", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    assert response.get_json() == {
        "sub": claims["sub"],
        "scope": "notes:read notes:write",
        "expires_at": datetime.fromtimestamp(claims["exp"], UTC).isoformat(),
    }


@pytest.mark.parametrize("scope", ["notes:read", "notes:write"])
def test_me_needs_no_particular_scope(auth: AuthActions, api: FlaskClient, scope: str) -> None:
    tokens = auth.tokens(scope=scope)

    response = api.get("/api/me", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    assert response.get_json()["scope"] == scope


# Notes ----------------------------------------------------------------------------------------


def test_creating_a_note_answers_201_with_id_text_and_creation_time(
    api: FlaskClient, user: dict[str, str], clock: FakeClock
) -> None:
    response = api.post("/api/notes", json={"text": "buy milk"}, headers=user)

    assert response.status_code == 201
    note = response.get_json()
    assert set(note) == {"id", "text", "created_at"}
    assert note["text"] == "buy milk"
    assert note["created_at"] == clock().isoformat()


def test_a_created_note_can_be_read_back_and_is_listed(
    api: FlaskClient, user: dict[str, str]
) -> None:
    note = create_note(api, user, "ünïcödé ✓ and emoji 🗒️")

    fetched = api.get(f"/api/notes/{note['id']}", headers=user)
    listed = api.get("/api/notes", headers=user)

    assert fetched.status_code == 200
    assert fetched.get_json() == note
    assert listed.status_code == 200
    assert listed.get_json() == {"notes": [note]}


def test_notes_are_listed_oldest_first(
    api: FlaskClient, user: dict[str, str], clock: FakeClock
) -> None:
    first = create_note(api, user, "first")
    clock.advance(5)
    second = create_note(api, user, "second")

    assert api.get("/api/notes", headers=user).get_json()["notes"] == [first, second]


def test_a_new_user_has_no_notes(api: FlaskClient, user: dict[str, str]) -> None:
    assert api.get("/api/notes", headers=user).get_json() == {"notes": []}


def test_deleting_a_note_answers_204_and_it_is_gone(api: FlaskClient, user: dict[str, str]) -> None:
    note = create_note(api, user)

    response = api.delete(f"/api/notes/{note['id']}", headers=user)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(api.get(f"/api/notes/{note['id']}", headers=user), 404, "not_found")
    assert_error(api.delete(f"/api/notes/{note['id']}", headers=user), 404, "not_found")
    assert api.get("/api/notes", headers=user).get_json() == {"notes": []}


def test_an_unknown_note_is_404_on_get_and_delete(api: FlaskClient, user: dict[str, str]) -> None:
    create_note(api, user)

    for note_id in ["0" * 32, "no-such-note", "%00", "%ff%fe", "x" * 1000]:
        assert_error(api.get(f"/api/notes/{note_id}", headers=user), 404, "not_found")
        assert_error(api.delete(f"/api/notes/{note_id}", headers=user), 404, "not_found")
    assert len(api.get("/api/notes", headers=user).get_json()["notes"]) == 1


def test_notes_survive_a_token_refresh(auth: AuthActions, api: FlaskClient) -> None:
    tokens = auth.tokens()
    note = create_note(api, bearer(tokens["access_token"]))

    refreshed = auth.refresh(tokens["refresh_token"]).get_json()

    notes = api.get("/api/notes", headers=bearer(refreshed["access_token"])).get_json()["notes"]
    assert notes == [note]


# Owner isolation ------------------------------------------------------------------------------


def test_another_users_note_is_404_on_get_and_delete_and_never_listed(
    auth: AuthActions, api: FlaskClient
) -> None:
    owner, intruder = bearer(auth.tokens()["access_token"]), bearer(auth.tokens()["access_token"])
    note = create_note(api, owner, "my secret")
    create_note(api, intruder, "the intruder's own note")

    assert_error(api.get(f"/api/notes/{note['id']}", headers=intruder), 404, "not_found")
    assert_error(api.delete(f"/api/notes/{note['id']}", headers=intruder), 404, "not_found")
    listed = api.get("/api/notes", headers=intruder).get_json()["notes"]
    assert [n["text"] for n in listed] == ["the intruder's own note"]
    assert api.get(f"/api/notes/{note['id']}", headers=owner).get_json() == note


def test_every_session_of_one_user_sees_the_same_notes(auth: AuthActions, api: FlaskClient) -> None:
    username = auth.register()
    phone = bearer(auth.session(username)["access_token"])
    laptop = bearer(auth.session(username, scope="notes:read")["access_token"])

    note = create_note(api, phone)

    assert api.get("/api/notes", headers=laptop).get_json() == {"notes": [note]}


# Scopes ---------------------------------------------------------------------------------------


def test_a_read_only_token_may_list_and_read_but_not_write(
    auth: AuthActions, api: FlaskClient
) -> None:
    username = auth.register()
    writer = bearer(auth.session(username)["access_token"])
    reader = bearer(auth.session(username, scope="notes:read")["access_token"])
    note = create_note(api, writer)

    assert api.get("/api/notes", headers=reader).status_code == 200
    assert api.get(f"/api/notes/{note['id']}", headers=reader).status_code == 200
    create = api.post("/api/notes", json={"text": "nope"}, headers=reader)
    delete = api.delete(f"/api/notes/{note['id']}", headers=reader)

    for response in (create, delete):
        assert_error(response, 403, "insufficient_scope")
        assert response.headers["WWW-Authenticate"] == INSUFFICIENT_WRITE
    assert api.get("/api/notes", headers=writer).get_json() == {"notes": [note]}


def test_a_write_only_token_may_write_but_not_read(auth: AuthActions, api: FlaskClient) -> None:
    writer = bearer(auth.tokens(scope="notes:write")["access_token"])
    note = create_note(api, writer)

    for response in (
        api.get("/api/notes", headers=writer),
        api.get(f"/api/notes/{note['id']}", headers=writer),
    ):
        assert_error(response, 403, "insufficient_scope")
        assert response.headers["WWW-Authenticate"] == INSUFFICIENT_READ
    assert api.delete(f"/api/notes/{note['id']}", headers=writer).status_code == 204


# Validation -----------------------------------------------------------------------------------


BAD_TEXTS: dict[str, dict[str, Any]] = {
    "missing": {},
    "null": {"text": None},
    "empty": {"text": ""},
    "blank": {"text": "   \n\t "},
    "too long": {"text": "x" * (MAX_NOTE_LENGTH + 1)},
    "number": {"text": 42},
    "boolean": {"text": True},
    "list": {"text": ["a"]},
    "object": {"text": {"a": 1}},
    "NUL character": {"text": "a\x00b"},
    "lone surrogate": {"text": "\ud800"},
}


def test_a_note_without_proper_text_is_invalid_request(
    api: FlaskClient, user: dict[str, str]
) -> None:
    for case, body in BAD_TEXTS.items():
        response = api.post("/api/notes", json=body, headers=user)
        assert response.status_code == 400, case
        assert_error(response, 400, "invalid_request")

    assert api.get("/api/notes", headers=user).get_json() == {"notes": []}


def test_a_note_of_exactly_the_maximum_length_is_accepted(
    api: FlaskClient, user: dict[str, str]
) -> None:
    note = create_note(api, user, "x" * MAX_NOTE_LENGTH)

    assert len(note["text"]) == MAX_NOTE_LENGTH


NOT_JSON_OBJECTS = [
    ("not json", "application/json"),
    ('["buy milk"]', "application/json"),
    ('"buy milk"', "application/json"),
    ("", "application/json"),
    ('{"text": "buy milk"}', "text/plain"),
    ("text=buy+milk", "application/x-www-form-urlencoded"),
]


def test_a_note_body_that_is_not_a_json_object_is_invalid_request(
    api: FlaskClient, user: dict[str, str]
) -> None:
    for data, content_type in NOT_JSON_OBJECTS:
        response = api.post("/api/notes", data=data, content_type=content_type, headers=user)
        assert response.status_code == 400, (data, content_type)
        assert_error(response, 400, "invalid_request")


# Health ---------------------------------------------------------------------------------------


def test_the_resource_services_healthz_and_readyz_answer_ok(api: FlaskClient) -> None:
    assert api.get("/healthz").get_json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok", "checks": {"store": "ok", "keys": "ok"}}
