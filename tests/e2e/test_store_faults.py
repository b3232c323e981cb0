"""A store that fails safely: cut PostgreSQL off mid-flight, get 503s, recover by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.e2e.harness import Stack, make_stack
from tests.e2e.tcp_proxy import TcpProxy
from tests.support import STRONG_PASSWORD, fresh_database, random_name

pytestmark = pytest.mark.postgres

# A request that needs the store must answer within this, even with the store gone.
BOUNDED_SECONDS = 8.0


@pytest.fixture
def proxied(site: Path, tmp_path: Path) -> Iterator[tuple[Stack, TcpProxy]]:
    with (
        fresh_database("postgresql", tmp_path) as auth_url,
        fresh_database("postgresql", tmp_path) as resource_url,
    ):
        target = make_url(auth_url)
        with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:

            def via_proxy(url: str) -> str:
                return (
                    make_url(url)
                    .set(host="127.0.0.1", port=proxy.port)
                    .render_as_string(hide_password=False)
                )

            stack = make_stack(
                site,
                tmp_path / "work",
                auth_env={"AUTH_DATABASE_URL": via_proxy(auth_url)},
                resource_env={"RESOURCE_DATABASE_URL": via_proxy(resource_url)},
            )
            try:
                yield stack, proxy
            finally:
                stack.stop()


def timed(method: str, url: str, **kwargs: object) -> requests.Response:
    started = time.monotonic()
    answer = requests.request(method, url, timeout=BOUNDED_SECONDS + 5, **kwargs)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert elapsed < BOUNDED_SECONDS, f"{method} {url} took {elapsed:.1f} s"
    return answer


def test_with_the_database_cut_off_requests_get_503_and_service_recovers_by_itself(
    proxied: tuple[Stack, TcpProxy],
) -> None:
    stack, proxy = proxied
    auth, resource = stack.auth.url, stack.resource.url
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    assert timed("POST", f"{auth}/auth/register", json=credentials).status_code == 201
    tokens = timed("POST", f"{auth}/auth/login", json=credentials).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert timed("POST", f"{resource}/api/notes", json={"text": "hi"}, headers=bearer).ok

    proxy.cut()
    needs_store = [
        ("POST", f"{auth}/auth/login", {"json": credentials}),
        ("POST", f"{auth}/auth/refresh", {"json": {"refresh_token": tokens["refresh_token"]}}),
        ("GET", f"{resource}/api/notes", {"headers": bearer}),
        ("GET", f"{auth}/readyz", {}),
        ("GET", f"{resource}/readyz", {}),
    ]
    for _ in range(2):  # twice: every worker's pooled connection is dead, not just one
        for method, url, kwargs in needs_store:
            answer = timed(method, url, **kwargs)
            assert answer.status_code == 503, (url, answer.status_code, answer.text)
            if "readyz" not in url:
                assert answer.json()["error"] == "temporarily_unavailable"
    # Token checks need no store: the resource service keeps verifying.
    me = timed("GET", f"{resource}/api/me", headers=bearer)
    assert me.status_code == 200

    proxy.restore()
    deadline = time.monotonic() + 20
    while timed("GET", f"{auth}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "auth service did not recover"
        time.sleep(0.2)
    while timed("GET", f"{resource}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "resource service did not recover"
        time.sleep(0.2)
    renewed = timed("POST", f"{auth}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    notes = timed("GET", f"{resource}/api/notes", headers=bearer)
    assert notes.status_code == 200 and notes.json()["notes"][0]["text"] == "hi"
