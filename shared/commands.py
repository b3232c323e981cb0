"""One-line failures of the operator commands (Flask CLI) of both services: never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# What a database that is down, unreachable, locked or unwritable raises.
STORE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


class CommandFailed(click.ClickException):
    """A command failed for a reason the operator can fix; shown as one line on stderr."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(f"{service}: {message}")

    def show(self, file: IO[Any] | None = None) -> None:
        # Without click's "Error: " prefix: the same shape as the configuration errors.
        click.echo(self.format_message(), err=True, file=file)


def first_line(error: BaseException) -> str:
    """Return the first line of an exception's message (drivers add hints on further lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def store_errors(service: str, variable: str, url: str) -> Iterator[None]:
    """Turn a failure to reach or use the database into one line naming *variable*."""
    try:
        yield
    except STORE_ERRORS as error:
        where = make_url(url).render_as_string(hide_password=True)
        reason = first_line(getattr(error, "orig", None) or error)
        raise CommandFailed(
            service, f"the database in {variable} ({where}) cannot be used: {reason}"
        ) from None
