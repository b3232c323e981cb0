"""E2E fixtures: the wheel installed once per run, and a fresh stack of real processes per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Stack, install_package, make_stack


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the built wheel is installed; services import tokenpair from here, not the repo."""
    return install_package(tmp_path_factory.mktemp("install"))


@pytest.fixture
def stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """Both services on free loopback ports, SQLite, default settings but a 2 s access token."""
    running = make_stack(site, tmp_path / "work", auth_env={"AUTH_ACCESS_TOKEN_TTL": "2"},
                         resource_env={"RESOURCE_LEEWAY": "0"})  # fmt: skip
    yield running
    running.stop()
