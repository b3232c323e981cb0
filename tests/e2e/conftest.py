"""E2E fixtures: stacks of real processes on each engine (the wheel: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ENGINES, Stack, running_stack


@pytest.fixture(params=ENGINES)
def stack(request: pytest.FixtureRequest, site: Path, tmp_path: Path) -> Iterator[Stack]:
    """Both services on free loopback ports, default settings but a 2 s access token."""
    with running_stack(
        site,
        tmp_path,
        request.param,
        auth_env={"AUTH_ACCESS_TOKEN_TTL": "2"},
        resource_env={"RESOURCE_LEEWAY": "0"},
    ) as running:
        yield running


@pytest.fixture(scope="module", params=ENGINES)
def shared_stack(
    request: pytest.FixtureRequest, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack with default settings for the tests of a module that do not disturb each other.

    Such tests use fresh users, so they may run in any order; a test that stops, restarts or
    reconfigures a service builds its own stack instead.
    """
    with running_stack(site, tmp_path_factory.mktemp("shared"), request.param) as running:
        yield running
