"""An auth outage is never mistaken for a bad token: real gunicorn, a SIGKILLed auth service.

The resource service runs on RESOURCE_JWKS_URL with two workers. Each fetches the key set on
its first authenticated request and saves it to the resource database; a worker that never
fetched, or a restarted service, verifies with that stored set while the auth service is down.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, make_stack, sign_up

BURST = 20  # concurrent requests: with two sync workers, both get some
DEADLINE = 30.0
# What the resource service logs when a worker's fetch fails and it verifies with a stored set.
FELL_BACK = "JWKS fetch failed; verifying with the"


@pytest.fixture
def own_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack with default settings (two workers each) that this test alone stops and starts."""
    running = make_stack(site, tmp_path / "work")
    yield running
    running.stop()


def burst(url: str, headers: dict[str, str]) -> list[requests.Response]:
    """GET *url* BURST times, eight at a time, so that every worker answers some of them."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(
                lambda _: requests.get(url, headers=headers, timeout=HTTP_TIMEOUT), range(BURST)
            )
        )


def statuses(answers: list[requests.Response]) -> list[int]:
    return [answer.status_code for answer in answers]


def kill_auth(stack: Stack) -> None:
    """Crash the auth service, master and workers at once, and check that it is gone."""
    stack.auth.stop(signal.SIGKILL)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{stack.auth.url}/healthz", timeout=HTTP_TIMEOUT)


def test_after_the_auth_service_crashed_every_resource_worker_accepts_a_valid_token(
    own_stack: Stack,
) -> None:
    me = f"{own_stack.resource.url}/api/me"
    headers = bearer(sign_up(own_stack)["access_token"])
    assert requests.get(me, headers=headers, timeout=HTTP_TIMEOUT).status_code == 200  # one worker

    kill_auth(own_stack)

    # Until the worker that never fetched has served some of them (its log line says so).
    deadline = time.monotonic() + DEADLINE
    while FELL_BACK not in own_stack.resource.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the second worker never answered"
        assert statuses(burst(me, headers)) == [200] * BURST
    assert statuses(burst(me, headers)) == [200] * BURST
    assert requests.get(f"{own_stack.resource.url}/readyz", timeout=HTTP_TIMEOUT).status_code == 200


def test_a_resource_service_restarted_while_the_auth_service_is_down_still_verifies(
    own_stack: Stack,
) -> None:
    resource = own_stack.resource.url
    headers = bearer(sign_up(own_stack)["access_token"])
    assert requests.get(f"{resource}/api/me", headers=headers, timeout=HTTP_TIMEOUT).ok
    kill_auth(own_stack)

    own_stack.resource.stop()
    own_stack.resource.start()

    assert requests.get(f"{resource}/readyz", timeout=HTTP_TIMEOUT).status_code == 200
    assert statuses(burst(f"{resource}/api/notes", headers)) == [200] * BURST
    note = requests.post(
        f"{resource}/api/notes", json={"text": "offline"}, headers=headers, timeout=HTTP_TIMEOUT
    )
    assert note.status_code == 201, note.text


def test_a_resource_service_with_no_key_while_auth_is_down_answers_503_then_recovers(
    own_stack: Stack,
) -> None:
    resource = own_stack.resource.url
    headers = bearer(sign_up(own_stack)["access_token"])
    kill_auth(own_stack)  # no resource worker has fetched the key set: nothing is stored
    own_stack.resource.stop()
    own_stack.resource.start()  # started fresh, with no cache, while auth is down

    answers = burst(f"{resource}/api/me", headers)
    assert statuses(answers) == [503] * BURST  # never 401: the token is good
    for answer in answers:
        assert answer.json()["error"] == "temporarily_unavailable"
        assert 1 <= int(answer.headers["Retry-After"]) <= 5
        assert "WWW-Authenticate" not in answer.headers
    ready = requests.get(f"{resource}/readyz", timeout=HTTP_TIMEOUT)
    assert (ready.status_code, ready.json()["checks"]["keys"]) == (503, "unavailable")

    own_stack.auth.start()

    deadline = time.monotonic() + DEADLINE
    answer = requests.get(f"{resource}/api/me", headers=headers, timeout=HTTP_TIMEOUT)
    while answer.status_code == 503:
        assert time.monotonic() < deadline, "the resource service never recovered"
        time.sleep(int(answer.headers["Retry-After"]))  # as a client is told to
        answer = requests.get(f"{resource}/api/me", headers=headers, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert statuses(burst(f"{resource}/api/me", headers)) == [200] * BURST
    assert requests.get(f"{resource}/readyz", timeout=HTTP_TIMEOUT).status_code == 200
