"""The services outlive each other's outages: a crashed issuer, a restarted issuer."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import HTTP_TIMEOUT, Service, Stack, bearer, make_stack, refresh, sign_up

WARM_UP_TIMEOUT = 20.0


@pytest.fixture
def own_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack with default settings that this test alone may stop and start."""
    running = make_stack(site, tmp_path / "work")
    yield running
    running.stop()


def jwks_fetches(auth: Service) -> int:
    """Count the JWKS requests in the auth service's log (one access line per request)."""
    lines = auth.log_path.read_text(errors="replace").splitlines()
    return sum("/.well-known/jwks.json" in line for line in lines)


def statuses_of_concurrent_gets(url: str, headers: dict[str, str], count: int) -> list[int]:
    """GET *url* *count* times, eight at a time, so that every worker gets some of them."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(
            lambda _: requests.get(url, headers=headers, timeout=HTTP_TIMEOUT), range(count)
        )
        return [answer.status_code for answer in answers]


def fetch_keys_in_every_worker(stack: Stack, headers: dict[str, str]) -> None:
    """Send bursts of requests until every resource worker has fetched the JWKS.

    Each worker caches its own key set and fetches it on first use, once; so the number of
    fetches in the auth service's access log says how many workers hold the keys.
    """
    deadline = time.monotonic() + WARM_UP_TIMEOUT
    while jwks_fetches(stack.auth) < stack.resource.workers:
        assert time.monotonic() < deadline, "not every resource worker fetched the JWKS"
        assert statuses_of_concurrent_gets(f"{stack.resource.url}/api/me", headers, 8) == [200] * 8


def test_the_resource_service_keeps_verifying_after_the_auth_service_crashed(
    own_stack: Stack,
) -> None:
    resource = own_stack.resource.url
    headers = bearer(sign_up(own_stack)["access_token"])
    fetch_keys_in_every_worker(own_stack, headers)

    own_stack.auth.stop(signal.SIGKILL)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{own_stack.auth.url}/healthz", timeout=HTTP_TIMEOUT)

    assert statuses_of_concurrent_gets(f"{resource}/api/me", headers, 16) == [200] * 16
    note = requests.post(
        f"{resource}/api/notes",
        json={"text": "written offline"},
        headers=headers,
        timeout=HTTP_TIMEOUT,
    )
    assert note.status_code == 201, note.text
    listed = requests.get(f"{resource}/api/notes", headers=headers, timeout=HTTP_TIMEOUT)
    assert listed.json() == {"notes": [note.json()]}
    assert requests.get(f"{resource}/readyz", timeout=HTTP_TIMEOUT).status_code == 200


def test_a_restarted_auth_service_still_honours_earlier_refresh_tokens(own_stack: Stack) -> None:
    me = f"{own_stack.resource.url}/api/me"
    tokens = sign_up(own_stack)
    rotated = refresh(own_stack, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    user = requests.get(me, headers=bearer(tokens["access_token"]), timeout=HTTP_TIMEOUT).json()

    own_stack.auth.stop()
    assert own_stack.auth.process is not None
    assert own_stack.auth.process.returncode == 0, own_stack.auth.log()
    own_stack.auth.start()

    renewed = refresh(own_stack, rotated.json()["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    # Signed with the same key as before the restart, so the resource's cached JWKS verifies it.
    answer = requests.get(me, headers=bearer(renewed.json()["access_token"]), timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == user["sub"]
