"""Helpers every ring of tests shares: a settable clock, random names, fresh databases."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TOKENPAIR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_REQUIRED = os.environ.get("TOKENPAIR_REQUIRE_POSTGRES") == "1"
STRONG_PASSWORD = "correct horse battery staple"
# Test clients send nearly everything from 127.0.0.1 (and the integration clock stands still):
# these keep the per-address limits out of the way; the tests of throttling set their own.
GENEROUS_ADDRESS_LIMITS = {
    "AUTH_ADDRESS_MAX_LOGIN_FAILURES": "100000",
    "AUTH_ADDRESS_MAX_LOGINS": "100000",
    "AUTH_ADDRESS_MAX_REFRESHES": "100000",
    "AUTH_ADDRESS_MAX_REGISTRATIONS": "100000",
}


class FakeClock:
    """A clock the test moves by hand; starts at the real current time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number)."""
        self.now += timedelta(seconds=seconds)


def random_name(prefix: str = "user") -> str:
    """Return a username no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def postgres_unavailable_reason() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it can."""
    # Imported here: the conformance image carries this module but not devstack.
    from devstack import postgres_unavailable

    return postgres_unavailable(POSTGRES_ADMIN_URL)


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new empty database of *kind*, dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        return
    reason = postgres_unavailable_reason()
    if reason is not None:
        if POSTGRES_REQUIRED:
            pytest.fail(f"{reason} (TOKENPAIR_REQUIRE_POSTGRES=1 makes it mandatory)")
        pytest.skip(reason)
    from devstack import create_postgres_database, drop_postgres_database

    url = create_postgres_database(POSTGRES_ADMIN_URL, "tokenpair_test_")
    try:
        yield url
    finally:
        drop_postgres_database(POSTGRES_ADMIN_URL, url)


def run_concurrently(count: int, action: Callable[[], Any]) -> list[Any]:
    """Run *action* in *count* threads released at the same instant; return every result."""
    start = threading.Barrier(count)

    def released() -> Any:
        start.wait(timeout=30)
        return action()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(released) for _ in range(count)]
        return [future.result(timeout=60) for future in futures]
