"""Race safety with four gunicorn workers, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import ENGINES, Stack, running_stack
from tests.support import STRONG_PASSWORD, random_name


@pytest.fixture(scope="module", params=ENGINES)
def busy_stack(
    request: pytest.FixtureRequest, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(site, tmp_path_factory.mktemp("races"), request.param, workers=4) as stack:
        yield stack


def login(stack: Stack) -> dict[str, str]:
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    auth = stack.auth.url
    assert requests.post(f"{auth}/auth/register", json=credentials, timeout=30).status_code == 201
    answer = requests.post(f"{auth}/auth/login", json=credentials, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def refresh(stack: Stack, token: str) -> requests.Response:
    return requests.post(
        f"{stack.auth.url}/auth/refresh", json={"refresh_token": token}, timeout=30
    )


def test_64_concurrent_refreshes_of_one_token_yield_one_chain(busy_stack: Stack) -> None:
    token = login(busy_stack)["refresh_token"]
    with ThreadPoolExecutor(max_workers=64) as pool:
        answers = list(pool.map(lambda _: refresh(busy_stack, token), range(64)))
    assert [answer.status_code for answer in answers] == [200] * 64
    children = {answer.json()["refresh_token"] for answer in answers}
    assert len(children) == 1
    (child,) = children
    assert refresh(busy_stack, child).status_code == 200


def test_a_logout_racing_refreshes_leaves_no_live_refresh_token(busy_stack: Stack) -> None:
    token = login(busy_stack)["refresh_token"]
    logout_url = f"{busy_stack.auth.url}/auth/logout"

    def act(index: int) -> requests.Response:
        if index == 8:
            return requests.post(logout_url, json={"refresh_token": token}, timeout=30)
        return refresh(busy_stack, token)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(act, range(16)))
    assert all(answer.status_code in (200, 204, 401) for answer in answers)
    issued = {answer.json()["refresh_token"] for answer in answers if answer.status_code == 200}
    for live_candidate in issued | {token}:
        assert refresh(busy_stack, live_candidate).status_code == 401


def test_two_registrations_of_one_username_give_one_201_and_one_409(busy_stack: Stack) -> None:
    url = f"{busy_stack.auth.url}/auth/register"

    def register(credentials: dict[str, str]) -> int:
        return requests.post(url, json=credentials, timeout=30).status_code

    for _ in range(5):
        credentials = {"username": random_name(), "password": STRONG_PASSWORD}
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = list(pool.map(register, [credentials, credentials]))
        assert sorted(statuses) == [201, 409]
