"""Refresh-token theft after a one-second grace window (races, retries: tests/conformance)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Stack, make_stack, refresh, sign_up


@pytest.fixture
def short_grace_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose reuse grace window is one second, so a test can outwait it."""
    running = make_stack(site, tmp_path / "work", auth_env={"AUTH_REFRESH_REUSE_GRACE": "1"})
    yield running
    running.stop()


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
