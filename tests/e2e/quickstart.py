"""Run ``dev.py`` as a new user does, in a throwaway copy of the project that shares .venv."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT

COPIED = [
    "dev.py", "pyproject.toml", "README.md", "shared", "auth_service", "resource_service", "demo"
]  # fmt: skip
# Settings of ours that the developer's shell may hold; a test starts from none of them.
OUR_PREFIXES = ("AUTH_", "RESOURCE_", "FLASK_", "PROMETHEUS_", "GUNICORN_", "TOKENPAIR_AUTH_")
OUR_NAMES = {
    "WEB_CONCURRENCY", "LOG_LEVEL", "TOKENPAIR_RESOURCE_PORT", "TOKENPAIR_DEMO_PORT",
    "TOKENPAIR_PASSWORD",
}  # fmt: skip


def quickstart_copy(target: Path) -> Path:
    """Copy what dev.py needs into *target* and link this run's .venv; return the copy."""
    venv = Path(sys.prefix)
    stamp = venv / ".tokenpair-installed"
    if not stamp.exists():
        pytest.fail(f"{venv} was not set up by dev.py; run: python3 dev.py test")
    # dev.py in the copy must find .venv current, or it would reinstall the project from there.
    if stamp.read_text() != hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest():
        pytest.fail(f"{venv} is older than pyproject.toml; run: python3 dev.py test")
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(venv, target_is_directory=True)
    return target


def clean_env(**settings: str) -> dict[str, str]:
    """Return this environment without any tokenpair setting, plus *settings*."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(OUR_PREFIXES) and key not in OUR_NAMES
    }
    env.pop("PYTHONPATH", None)
    return {**env, **settings}


def run_dev(
    copy: Path, *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python3 dev.py ARGS`` in *copy* with the system's python3, as the README says."""
    python3 = shutil.which("python3") or sys.executable
    return subprocess.run(
        [python3, str(copy / "dev.py"), *args],
        cwd=copy, env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
