"""examples/client.py against a live stack: a session outlives its access tokens."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.client import LoginRequired, TokenpairClient, Tokens
from tests.e2e.harness import ROOT, Stack, make_stack
from tests.support import STRONG_PASSWORD, random_name

TTL = 2
PAST_EXPIRY = TTL + 0.1  # a sleep after which any access token issued before it has expired


@pytest.fixture(scope="module")
def short_lived_stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for this module (each test uses its own user): tokens live 1-2 s, no leeway.

    Not 1 s: iat is whole seconds, so a token minted late in a second would be expired on
    arrival, and the client's single retry would rightly give up.
    """
    running = make_stack(
        site,
        tmp_path_factory.mktemp("client"),
        auth_env={"AUTH_ACCESS_TOKEN_TTL": str(TTL)},
        resource_env={"RESOURCE_LEEWAY": "0"},
    )
    yield running
    running.stop()


def test_calls_across_expiry_succeed_by_refreshing_transparently(
    short_lived_stack: Stack,
) -> None:
    seen: list[Tokens] = []
    client = TokenpairClient(
        short_lived_stack.auth.url, short_lived_stack.resource.url, on_refresh=seen.append
    )
    username = random_name()
    assert client.register(username, STRONG_PASSWORD)
    first = client.login(username, STRONG_PASSWORD)

    statuses = []
    for call in range(4):
        statuses.append(client.post("/api/notes", json={"text": f"note {call}"}).status_code)
        time.sleep(PAST_EXPIRY)
    listed = client.get("/api/notes")

    assert statuses == [201] * 4
    assert listed.status_code == 200
    assert [note["text"] for note in listed.json()["notes"]] == [f"note {n}" for n in range(4)]
    assert client.refreshes >= 3
    assert len(seen) == client.refreshes
    # Each refresh rotated the refresh token; the client always holds the newest one.
    chain = [first.refresh_token, *(tokens.refresh_token for tokens in seen)]
    assert len(set(chain)) == len(chain)
    assert client.tokens is not None and client.tokens.refresh_token == chain[-1]

    client.logout()
    with pytest.raises(LoginRequired):
        client.get("/api/me")


def test_a_revoked_session_ends_with_login_required(short_lived_stack: Stack) -> None:
    client = TokenpairClient(short_lived_stack.auth.url, short_lived_stack.resource.url)
    username = random_name()
    client.register(username, STRONG_PASSWORD)
    client.login(username, STRONG_PASSWORD)
    assert client.tokens is not None
    bearer = {"Authorization": f"Bearer {client.tokens.access_token}"}
    assert (
        client.http.post(
            f"{client.auth_url}/auth/logout-all", headers=bearer, timeout=10
        ).status_code
        == 204
    )

    time.sleep(PAST_EXPIRY)
    with pytest.raises(LoginRequired):
        client.get("/api/me")
    assert client.tokens is None


def test_the_demo_command_shows_transparent_refreshes(short_lived_stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.client", "demo",
         "--auth", short_lived_stack.auth.url, "--resource", short_lived_stack.resource.url,
         "--username", random_name("demo"), "--password", STRONG_PASSWORD, "--register",
         "--calls", "3", "--interval", str(PAST_EXPIRY)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "call 3/3: saved a note, 3 notes listed" in result.stdout
    assert "refreshed transparently" in result.stdout
    assert "logged out" in result.stdout
