"""Hygiene against real gunicorn: no banner, the same headers on every answer (gunicorn's own
too), bounded metrics on a private listener, and store and key files created owner-only."""

from __future__ import annotations

import json
import random
import socket
import stat
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, free_port, running_stack, sign_up


@pytest.fixture(scope="module")
def metrics_port() -> int:
    """The auth service's private metrics listener."""
    return free_port()


@pytest.fixture(scope="module")
def stack(
    site: Path, tmp_path_factory: pytest.TempPathFactory, metrics_port: int
) -> Iterator[Stack]:
    """Auth with /metrics on a listener of its own; resource with /metrics on its API port."""
    with running_stack(
        site,
        tmp_path_factory.mktemp("hygiene"),
        auth_env={"METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"},
    ) as running:
        yield running


def raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send *data* on a raw socket; return gunicorn's status, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split(" ")[1]), headers, body


def test_no_answer_of_either_service_names_its_server(stack: Stack) -> None:
    user = sign_up(stack)
    answers = [
        requests.get(f"{stack.resource.url}/api/notes", headers=bearer(user["access_token"]),
                     timeout=HTTP_TIMEOUT),
        requests.get(f"{stack.auth.url}/auth/sessions", headers=bearer(user["access_token"]),
                     timeout=HTTP_TIMEOUT),
        requests.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT),
        requests.get(f"{stack.resource.url}/nowhere", timeout=HTTP_TIMEOUT),
        requests.delete(f"{stack.auth.url}/healthz", timeout=HTTP_TIMEOUT),
        requests.post(f"{stack.auth.url}/auth/login", data="x" * 20_000, timeout=HTTP_TIMEOUT,
                      headers={"Content-Type": "application/json"}),
        requests.head(f"{stack.resource.url}/healthz", timeout=HTTP_TIMEOUT),
    ]  # fmt: skip

    assert [a.status_code for a in answers] == [200, 200, 200, 404, 405, 413, 200]
    for answer in answers:
        assert "Server" not in answer.headers, answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    jwks = answers.pop(2)
    assert "public" in jwks.headers["Cache-Control"]
    assert [answer.headers["Cache-Control"] for answer in answers] == ["no-store"] * 6


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /api/me?access_token=x HTTP/1.1 junk\r\n\r\n", 400),
        (b"get /healthz HTTP/1.1\r\n\r\n", 400),
        (b"GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        (b"GET /healthz?" + b"q" * 5000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"x" * 9000 + b"\r\n\r\n", 431),
    ],
    ids=["bad-version", "bad-method", "bad-header", "long-line", "big-header"],
)
def test_gunicorns_own_error_answers_are_json_with_the_same_headers_and_no_banner(
    stack: Stack, request_bytes: bytes, status: int
) -> None:
    for port in (stack.auth.port, stack.resource.port):
        got, headers, body = raw(port, request_bytes)

        assert got == status
        assert "Server" not in headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Content-Type"] == "application/json"
        error = json.loads(body)
        assert set(error) == {"error", "error_description"}
        assert error["error"] == "invalid_request"
        assert b"access_token" not in body  # the request is never echoed


def request_series(metrics: str) -> int:
    return sum(1 for line in metrics.splitlines() if line.startswith("tokenpair_http_requests"))


def test_metrics_served_privately_add_up_every_worker_and_300_random_methods_add_no_series(
    stack: Stack, metrics_port: int
) -> None:
    private = f"http://127.0.0.1:{metrics_port}/metrics"
    for url in (stack.auth.url, stack.resource.url):
        requests.request("BREW", f"{url}/healthz", timeout=HTTP_TIMEOUT)
        requests.request("BREW", f"{url}/nowhere", timeout=HTTP_TIMEOUT)
    before_auth = requests.get(private, timeout=HTTP_TIMEOUT).text
    before_resource = requests.get(f"{stack.resource.url}/metrics", timeout=HTTP_TIMEOUT).text

    for _ in range(300):
        method = "".join(random.choices(string.ascii_uppercase, k=10))
        for url in (stack.auth.url, stack.resource.url):
            path = random.choice(["/healthz", f"/random/{random.random()}"])
            assert requests.request(method, f"{url}{path}", timeout=HTTP_TIMEOUT).status_code in (
                404, 405
            )  # fmt: skip

    after_auth = requests.get(private, timeout=HTTP_TIMEOUT)
    after_resource = requests.get(f"{stack.resource.url}/metrics", timeout=HTTP_TIMEOUT).text
    assert after_auth.status_code == 200
    assert request_series(after_auth.text) == request_series(before_auth)
    # The resource service's own /metrics scrape adds its one series at most.
    assert request_series(after_resource) <= request_series(before_resource) + 1
    for metrics in (after_auth.text, after_resource):
        others = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("tokenpair_http_requests_total") and 'method="other"' in line
        ]
        assert sum(others) >= 302
    answer = requests.get(f"{stack.auth.url}/metrics", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 404  # off the auth service's API port


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stores_and_keys_are_owner_only_after_db_upgrade_and_a_served_request(
    stack: Stack,
) -> None:
    user = sign_up(stack)  # writes to the auth store
    requests.post(
        f"{stack.resource.url}/api/notes",
        json={"text": "a note"},
        headers=bearer(user["access_token"]),
        timeout=HTTP_TIMEOUT,
    ).raise_for_status()
    var = stack.auth.workdir / "var"
    stores = [var / "auth.db", var / "resource.db"]
    journals = [Path(f"{store}{suffix}") for store in stores for suffix in ("-wal", "-shm")]
    keys = sorted((var / "keys").iterdir())

    assert all(journal.exists() for journal in journals), sorted(var.iterdir())
    assert {path.name: mode(path) for path in stores + journals + keys} == {
        path.name: 0o600 for path in stores + journals + keys
    }
    assert len(keys) >= 2  # a .pem and its .json
    assert (mode(var), mode(var / "keys")) == (0o700, 0o700)
