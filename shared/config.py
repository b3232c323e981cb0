"""Read settings from the environment; every bad value stops start-up with one line naming it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

import click
from flask.cli import ScriptInfo

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

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        """Return an integer of at least *minimum*, or fail naming *name*."""
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        return _parse(name, raw, int, f"an integer >= {minimum}", lambda v: v >= minimum)

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """Return a number of at least *minimum*, or fail naming *name*."""
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        return _parse(name, raw, float, f"a number >= {minimum:g}", lambda v: v >= minimum)


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
    context = click.get_current_context(silent=True)
    if context is None or context.find_object(ScriptInfo) is None:
        return False
    return context.info_name != "run"
