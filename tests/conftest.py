"""Fixtures of more than one ring: the e2e ring and the conformance kit both start stacks."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the built wheel is installed; services import tokenpair from here, not the repo."""
    from tests.e2e.harness import install_package  # only a run that starts a stack builds it

    return install_package(tmp_path_factory.mktemp("install"))
