"""Clients that send half a request and stall must not hold the service hostage."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import Stack, running_stack
from tests.e2e.proxy import HttpsStack, running_https_stack

# Generous: a prompt answer takes milliseconds; a stalled worker took 30 s (issue 8).
PROMPT = 2.0
WORKERS, THREADS = 2, 4
STALLED_LOGIN = (
    b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 64\r\n\r\n{"
)


@contextmanager
def stalled_bodies(
    count: int, port: int, tls: ssl.SSLContext | None = None
) -> Iterator[list[socket.socket]]:
    """Open *count* connections that send headers and one byte of a JSON body, then stall."""
    with ExitStack() as open_sockets:
        connections = []
        for _ in range(count):
            connection: socket.socket = socket.create_connection(("127.0.0.1", port), timeout=5)
            if tls is not None:
                connection = tls.wrap_socket(connection, server_hostname="127.0.0.1")
            open_sockets.enter_context(connection)
            connection.sendall(STALLED_LOGIN)
            connections.append(connection)
        yield connections


def still_waiting(connection: socket.socket) -> bool:
    """True when the server has neither answered nor closed the stalled connection."""
    connection.setblocking(False)
    try:
        return not connection.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        return True
    finally:
        connection.setblocking(True)


def probe(url: str, **kwargs: object) -> float:
    """Return how long /healthz took to answer 200 (failing after a generous deadline)."""
    started = time.monotonic()
    answer = requests.get(f"{url}/healthz", timeout=PROMPT, **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 200
    return time.monotonic() - started


@pytest.fixture(scope="module")
def edge(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsStack]:
    with running_https_stack(
        site,
        tmp_path_factory.mktemp("slow-edge"),
        auth_env={"WEB_CONCURRENCY": str(WORKERS), "GUNICORN_THREADS": str(THREADS)},
    ) as running:
        yield running


def test_two_stalled_bodies_do_not_delay_healthz_through_the_proxy(edge: HttpsStack) -> None:
    tls = ssl.create_default_context(cafile=str(edge.ca_file))
    port = int(edge.proxy.env["PROXY_AUTH_PORT"])
    with stalled_bodies(2, port, tls) as stalls:
        for _ in range(3):
            assert probe(edge.proxy.auth_url, verify=edge.ca_file) < PROMPT
        assert all(still_waiting(stall) for stall in stalls)


def test_more_stalled_bodies_than_gunicorn_has_threads_never_reach_gunicorn(
    edge: HttpsStack,
) -> None:
    tls = ssl.create_default_context(cafile=str(edge.ca_file))
    port = int(edge.proxy.env["PROXY_AUTH_PORT"])
    # More stalls than gunicorn has threads: the proxy holds them, the service keeps answering.
    with stalled_bodies(WORKERS * THREADS + 2, port, tls) as stalls:
        assert probe(edge.proxy.auth_url, verify=edge.ca_file) < PROMPT
        assert probe(edge.stack.auth.url) < PROMPT
        assert all(still_waiting(stall) for stall in stalls)


@pytest.fixture(scope="module")
def quickstart(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The services as `dev.py up` runs them: plain HTTP on loopback, no proxy."""
    with running_stack(site, tmp_path_factory.mktemp("slow-direct"), workers=WORKERS) as stack:
        yield stack


def test_a_stalled_body_does_not_stall_a_quickstart_service(quickstart: Stack) -> None:
    with stalled_bodies(1, quickstart.auth.port) as stalls:
        for _ in range(3):
            assert probe(quickstart.auth.url) < PROMPT
        assert all(still_waiting(stall) for stall in stalls)


def test_one_stalled_body_per_worker_leaves_the_quickstart_answering(quickstart: Stack) -> None:
    # The case: as many stalls as workers froze sync workers until their timeout.
    with stalled_bodies(WORKERS, quickstart.auth.port) as stalls:
        for _ in range(3):
            assert probe(quickstart.auth.url) < PROMPT
        assert all(still_waiting(stall) for stall in stalls)
