"""What gunicorn itself writes on the wire: no ``Server`` banner, and its own error answers
(a request it cannot parse never reaches Flask) in the one JSON shape with the same headers.

gunicorn (23 to 27) has no setting for either: it always writes ``Server: gunicorn``, and
answers a malformed request with an HTML page quoting the request back. Its maintainers'
advice for the banner is to change the response class; these are the two smallest such
changes, applied in each worker by ``shared/gunicorn_conf.py`` (``post_fork``).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

from gunicorn import util
from gunicorn.http import wsgi

_PATCHED = "_tokenpair"


def drop_server_header() -> None:
    """Make every HTTP/1 response of this process leave out gunicorn's ``Server`` line."""
    original: Callable[[Any], list[str]] = wsgi.Response.default_headers
    if getattr(original, _PATCHED, False):
        return

    def default_headers(self: Any) -> list[str]:
        return [line for line in original(self) if not line.lower().startswith("server:")]

    setattr(default_headers, _PATCHED, True)
    wsgi.Response.default_headers = default_headers


# What each of gunicorn's own answers means; never its message, which quotes the request.
_DESCRIPTIONS = {
    400: "The server could not parse the request",
    403: "The request was refused",
    414: "The request line is too long",
    417: "The expectation cannot be met",
    431: "A request header is too large, or there are too many",
    501: "The transfer coding is not supported",
}


def error_body(status: int) -> bytes:
    """Return the JSON error of gunicorn's own answer with *status* (400, 414, 431, ...)."""
    code = "server_error" if status >= 500 and status != 501 else "invalid_request"
    description = _DESCRIPTIONS.get(status, "The server could not answer this request")
    return json.dumps({"error": code, "error_description": description}).encode()


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Answer a request gunicorn could not parse like the apps answer errors (for util)."""
    body = error_body(status_int)
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def harden_gunicorn() -> None:
    """Apply both changes to the gunicorn of this process; safe to call more than once."""
    drop_server_header()
    util.write_error = write_json_error
