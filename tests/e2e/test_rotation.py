"""Refresh-token rotation across two gunicorn workers: races, honest retries and theft."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import Stack, make_stack, refresh, sign_up

CONCURRENT_REFRESHES = 32


@pytest.fixture
def short_grace_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose reuse grace window is one second, so a test can outwait it."""
    running = make_stack(site, tmp_path / "work", auth_env={"AUTH_REFRESH_REUSE_GRACE": "1"})
    yield running
    running.stop()


def test_concurrent_refreshes_of_one_token_all_get_the_same_new_token(shared_stack: Stack) -> None:
    tokens = sign_up(shared_stack)
    start = threading.Barrier(CONCURRENT_REFRESHES)

    def refresh_when_all_are_ready(_: int) -> requests.Response:
        start.wait(timeout=10)
        return refresh(shared_stack, tokens["refresh_token"])

    with ThreadPoolExecutor(max_workers=CONCURRENT_REFRESHES) as pool:
        answers = list(pool.map(refresh_when_all_are_ready, range(CONCURRENT_REFRESHES)))

    assert [answer.status_code for answer in answers] == [200] * CONCURRENT_REFRESHES, [
        answer.text for answer in answers if answer.status_code != 200
    ]
    new_tokens = {answer.json()["refresh_token"] for answer in answers}
    assert len(new_tokens) == 1
    (new_token,) = new_tokens
    assert new_token != tokens["refresh_token"]

    following = refresh(shared_stack, new_token)
    assert following.status_code == 200, following.text
    assert following.json()["refresh_token"] not in (new_token, tokens["refresh_token"])


def test_a_retry_inside_the_grace_window_gets_the_same_refresh_token(shared_stack: Stack) -> None:
    tokens = sign_up(shared_stack)

    first = refresh(shared_stack, tokens["refresh_token"])
    retry = refresh(shared_stack, tokens["refresh_token"])

    assert first.status_code == retry.status_code == 200, (first.text, retry.text)
    assert retry.json()["refresh_token"] == first.json()["refresh_token"]
    assert retry.headers["Cache-Control"] == "no-store"
    assert refresh(shared_stack, first.json()["refresh_token"]).status_code == 200


def test_reusing_a_rotated_token_after_the_grace_window_revokes_the_session(
    short_grace_stack: Stack,
) -> None:
    tokens = sign_up(short_grace_stack)
    rotated = refresh(short_grace_stack, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()["refresh_token"]

    time.sleep(1.5)  # the point of the test: let the one-second grace window pass
    reuse = refresh(short_grace_stack, tokens["refresh_token"])

    assert reuse.status_code == 401
    assert reuse.json()["error"] == "invalid_grant"
    after_theft = refresh(short_grace_stack, newest)
    assert after_theft.status_code == 401
    assert after_theft.json()["error"] == "invalid_grant"
