"""Read settings from the environment; every bad value stops start-up with one line naming it.

Standard library only: ``dev.py`` imports this module to check the process variables before
``.venv`` (and with it every other dependency) exists.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# Exit status gunicorn's arbiter reads as "App failed to load": it halts instead of respawning.
APP_LOAD_ERROR = 4


class ConfigError(Exception):
    """A setting is missing, malformed or contradicts another; the message names the variable."""


class Env:
    """Typed access to environment variables, with defaults."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str | None = None) -> str:
        """Return a non-empty string, the default, or fail naming *name*."""
        value = self._environ.get(name, "").strip()
        if value:
            return value
        if default is None:
            raise ConfigError(f"{name} is required but not set")
        return default

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        """Return one of *choices* (case-insensitive), or fail naming *name*."""
        value = self.text(name, default).upper()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def optional(self, name: str) -> str | None:
        """Return the value, or None when unset or empty."""
        return self._environ.get(name, "").strip() or None

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        """Return an integer in [*minimum*, *maximum*], or fail naming *name*."""
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        if maximum is None:
            return _parse(name, raw, int, f"an integer >= {minimum}", lambda v: v >= minimum)
        expected = f"an integer from {minimum} to {maximum}"
        return _parse(name, raw, int, expected, lambda v: minimum <= v <= maximum)

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """Return a number of at least *minimum*, or fail naming *name*."""
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        return _parse(name, raw, float, f"a number >= {minimum:g}", lambda v: v >= minimum)


BEHIND_TLS_PROXY = "GUNICORN_BEHIND_TLS_PROXY"


def behind_tls_proxy(raw: str) -> bool:
    """Parse GUNICORN_BEHIND_TLS_PROXY: ``1`` when a TLS-terminating proxy is in front."""
    value = raw.strip()
    if value not in ("", "0", "1"):
        raise ConfigError(f"{BEHIND_TLS_PROXY} must be 0 or 1, got {raw!r}")
    return value == "1"


@dataclass(frozen=True)
class ProcessSettings:
    """The gunicorn process variables (shared/gunicorn_conf.py); see the README for each."""

    workers: int
    threads: int
    timeout: int
    graceful_timeout: int
    metrics_dir: str | None = None
    behind_tls_proxy: bool = False  # the plain-HTTP warning is for a service without one

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ProcessSettings:
        """Read WEB_CONCURRENCY, GUNICORN_* and PROMETHEUS_MULTIPROC_DIR; fail naming a bad one."""
        env = Env(environ)
        # A master with no workers answers nothing, so at least one of each.
        settings = cls(
            workers=env.integer("WEB_CONCURRENCY", 2, minimum=1, maximum=MAX_WORKERS),
            threads=env.integer("GUNICORN_THREADS", 4, minimum=1, maximum=MAX_THREADS),
            timeout=env.integer("GUNICORN_TIMEOUT", 30, minimum=1),
            graceful_timeout=env.integer("GUNICORN_GRACEFUL_TIMEOUT", 20, minimum=0),
            metrics_dir=env.optional("PROMETHEUS_MULTIPROC_DIR"),
            behind_tls_proxy=behind_tls_proxy(environ.get(BEHIND_TLS_PROXY, "")),
        )
        # Workers write their samples there on every request: an unusable folder would turn
        # each answer into a 500, so it stops start-up instead.
        folder = settings.metrics_dir
        if folder is not None and not (
            os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)
        ):
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR ({folder}) is not a writable folder")
        return settings


# Request body limits (AUTH_MAX_BODY_BYTES, RESOURCE_MAX_BODY_BYTES): below 1 KiB no login or
# note fits; a body is read into memory whole, so more than 10 MiB is a typo, not a need.
MIN_BODY_BYTES = 1024
MAX_BODY_BYTES = 10 * 1024 * 1024


def body_limit(env: Env, name: str, default: int) -> int:
    """Return the request body limit *name* in bytes, within the bounds above, or fail naming it."""
    return env.integer(name, default, minimum=MIN_BODY_BYTES, maximum=MAX_BODY_BYTES)


# Far above what a host runs well, low enough that a typo (an extra zero or two) is caught.
MAX_WORKERS = 64
MAX_THREADS = 256


def _parse(
    name: str, raw: str, convert: Callable[[str], T], expected: str, ok: Callable[[T], bool]
) -> T:
    try:
        value = convert(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None
    if not ok(value):
        raise ConfigError(f"{name} must be {expected}, got {raw!r}")
    return value


@contextmanager
def exit_on_config_error(service: str) -> Iterator[None]:
    """Turn a ConfigError into one line on stderr and an exit that gunicorn will not retry."""
    try:
        yield
    except ConfigError as error:
        print(f"{service}: configuration error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(APP_LOAD_ERROR) from None


def loaded_for_a_cli_command() -> bool:
    """Return True while a Flask CLI command other than ``flask run`` is loading the app.

    Such a command (``db upgrade``, ``shell``) serves no request, so a factory may build the
    app from the settings that command needs; ``flask run`` serves and needs them all.
    """
    # Here, not at the top: dev.py imports this module before .venv (with Flask) exists.
    import click
    from flask.cli import ScriptInfo

    context = click.get_current_context(silent=True)
    if context is None or context.find_object(ScriptInfo) is None:
        return False
    return context.info_name != "run"
