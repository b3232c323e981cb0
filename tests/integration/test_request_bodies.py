"""A bad request body is told what is wrong with it: each kind of mistake has its own text."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient

from auth_service.settings import DEFAULT_MAX_BODY_BYTES as AUTH_LIMIT
from resource_service.settings import DEFAULT_MAX_BODY_BYTES as RESOURCE_LIMIT
from tests.integration.conftest import AuthActions, assert_error, bearer

CREDENTIALS = b'{"username": "ann", "password": "correct horse battery staple"}'

# One of each mistake, and the words its answer must contain.
MISTAKES: dict[str, tuple[bytes, str, str]] = {
    "wrong content type": (CREDENTIALS, "text/plain", "Content-Type: application/json"),
    "no content type": (CREDENTIALS, "", "Content-Type: application/json"),
    "malformed JSON": (b'{"username": "ann", ', "application/json", "not valid JSON"),
    "empty body": (b"", "application/json", "not valid JSON"),
    "not UTF-8": (b'{"username": "\xff\xfe"}', "application/json", "not UTF-8"),
    "nested too deeply": (b"[" * 10_000, "application/json", "nested too deeply"),
    "an array": (b'["ann"]', "application/json", "must be a JSON object, not an array"),
    "a string": (b'"ann"', "application/json", "must be a JSON object, not a string"),
    "a number": (b"42", "application/json", "must be a JSON object, not a number"),
    "null": (b"null", "application/json", "must be a JSON object, not null"),
}


def post(client: FlaskClient, path: str, data: bytes, content_type: str, **extra: object) -> object:
    return client.post(path, data=data, headers={"Content-Type": content_type}, **extra)


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_kind_of_bad_body_is_answered_with_what_is_wrong(
    client: FlaskClient, mistake: str
) -> None:
    data, content_type, words = MISTAKES[mistake]

    body = assert_error(post(client, "/auth/login", data, content_type), 400, "invalid_request")

    assert words in body["error_description"]


def test_the_kinds_of_bad_body_have_distinct_texts(client: FlaskClient) -> None:
    texts = {
        mistake: post(client, "/auth/login", data, content_type).get_json()["error_description"]
        for mistake, (data, content_type, _) in MISTAKES.items()
    }
    kinds = {
        "content type": texts["wrong content type"],
        "syntax": texts["malformed JSON"],
        "encoding": texts["not UTF-8"],
        "depth": texts["nested too deeply"],
        "shape": texts["an array"],
    }

    assert len(set(kinds.values())) == len(kinds), kinds


def test_malformed_json_with_the_right_content_type_is_not_told_to_fix_the_content_type(
    client: FlaskClient,
) -> None:
    response = post(client, "/auth/login", b'{"username": ', "application/json")

    description = assert_error(response, 400)["error_description"]
    assert "Content-Type" not in description
    assert "line 1, column" in description


def too_large(limit: int) -> bytes:
    return b'{"text": "' + b"x" * limit + b'"}'


def test_a_body_over_the_limit_is_413_naming_the_limit(client: FlaskClient) -> None:
    response = post(client, "/auth/login", too_large(AUTH_LIMIT), "application/json")

    body = assert_error(response, 413, "invalid_request")
    assert f"limit of {AUTH_LIMIT} bytes" in body["error_description"]


def test_a_chunked_body_over_the_limit_is_413_naming_the_limit_too(
    api: FlaskClient, auth: AuthActions
) -> None:
    headers = bearer(auth.tokens()["access_token"])

    # No Content-Length, a server that terminates the stream itself: what gunicorn hands over.
    response = api.post(
        "/api/notes",
        input_stream=io.BytesIO(too_large(RESOURCE_LIMIT)),
        headers={**headers, "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    body = assert_error(response, 413, "invalid_request")
    assert f"limit of {RESOURCE_LIMIT} bytes" in body["error_description"]


def test_a_chunked_body_within_the_limit_is_read_whole(api: FlaskClient, auth: AuthActions) -> None:
    headers = bearer(auth.tokens()["access_token"])
    text = "\u00e9" * 10_000  # the longest note, escaped: six bytes a character
    data = json.dumps({"text": text}).encode()
    assert RESOURCE_LIMIT - 10_000 < len(data) <= RESOURCE_LIMIT

    response = api.post(
        "/api/notes",
        input_stream=io.BytesIO(data),
        headers={**headers, "Content-Type": "application/json"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.get_json()["text"] == text


CONFIGURED_LIMIT = 2048


def test_a_configured_auth_body_limit_is_the_one_enforced_and_named(
    request: pytest.FixtureRequest, auth_env: dict[str, str], database_kind: str
) -> None:
    auth_env["AUTH_MAX_BODY_BYTES"] = str(CONFIGURED_LIMIT)
    client: FlaskClient = request.getfixturevalue("client")

    over = post(client, "/auth/login", too_large(CONFIGURED_LIMIT), "application/json")
    under = post(client, "/auth/login", too_large(CONFIGURED_LIMIT - 100), "application/json")

    body = assert_error(over, 413, "invalid_request")
    assert f"limit of {CONFIGURED_LIMIT} bytes" in body["error_description"]
    assert under.status_code == 400  # read and judged: no "username", not too large


def test_a_configured_resource_body_limit_holds_for_chunked_bodies_too(
    request: pytest.FixtureRequest, resource_env: dict[str, str], database_kind: str
) -> None:
    resource_env["RESOURCE_MAX_BODY_BYTES"] = str(CONFIGURED_LIMIT)
    api: FlaskClient = request.getfixturevalue("api")
    auth: AuthActions = request.getfixturevalue("auth")
    headers = {**bearer(auth.tokens()["access_token"]), "Content-Type": "application/json"}

    def chunked(data: bytes) -> object:
        return api.post(
            "/api/notes",
            input_stream=io.BytesIO(data),
            headers=headers,
            environ_overrides={"wsgi.input_terminated": True},
        )

    over = chunked(too_large(CONFIGURED_LIMIT))
    under = chunked(too_large(CONFIGURED_LIMIT - 100))

    body = assert_error(over, 413, "invalid_request")
    assert f"limit of {CONFIGURED_LIMIT} bytes" in body["error_description"]
    assert under.status_code == 201, under.get_data(as_text=True)[:300]  # type: ignore[attr-defined]
