"""Body limits through real gunicorn, where a chunked body reaches the app without a length."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from auth_service.settings import DEFAULT_MAX_BODY_BYTES as AUTH_LIMIT
from resource_service.settings import DEFAULT_MAX_BODY_BYTES as RESOURCE_LIMIT
from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, running_stack, sign_up


@pytest.fixture(scope="module")
def sqlite_stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(site, tmp_path_factory.mktemp("bodies")) as running:
        yield running


def chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    """Yield *data* in pieces: requests then sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def too_large(limit: int) -> bytes:
    return b'{"username": "' + b"x" * (limit + 4096) + b'", "password": "pw"}'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_login_body_over_the_limit_is_413_naming_the_limit(
    sqlite_stack: Stack, chunked: bool
) -> None:
    data = too_large(AUTH_LIMIT)

    response = requests.post(
        f"{sqlite_stack.auth.url}/auth/login",
        data=chunks(data) if chunked else data,
        headers={"Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 413, response.text
    assert f"limit of {AUTH_LIMIT} bytes" in response.json()["error_description"]


def test_a_chunked_note_over_the_limit_is_413_and_within_it_is_saved_whole(
    sqlite_stack: Stack,
) -> None:
    headers = {**bearer(sign_up(sqlite_stack)["access_token"]), "Content-Type": "application/json"}
    text = "\u00e9" * 10_000  # the longest note, escaped: close to the limit, in many chunks
    within = json.dumps({"text": text}).encode()
    notes = f"{sqlite_stack.resource.url}/api/notes"

    over = requests.post(
        notes, data=chunks(too_large(RESOURCE_LIMIT)), headers=headers, timeout=HTTP_TIMEOUT
    )
    saved = requests.post(notes, data=chunks(within), headers=headers, timeout=HTTP_TIMEOUT)

    assert over.status_code == 413, over.text
    assert f"limit of {RESOURCE_LIMIT} bytes" in over.json()["error_description"]
    assert saved.status_code == 201, saved.text
    assert saved.json()["text"] == text


def test_malformed_chunked_json_is_told_it_is_not_json(sqlite_stack: Stack) -> None:
    response = requests.post(
        f"{sqlite_stack.auth.url}/auth/login",
        data=chunks(b'{"username": "ann", '),
        headers={"Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )

    assert response.status_code == 400, response.text
    assert "not valid JSON" in response.json()["error_description"]
