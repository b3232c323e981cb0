"""The response headers every answer of both services carries, decided once for all of them.

- ``Cache-Control: no-store`` unless the view chose a cache policy itself (the JWKS is public
  and cacheable): tokens, sessions, notes and errors are personal, and a shared cache or the
  browser's disk must never keep them. Opting out is explicit, so a new view is safe by default.
- ``X-Content-Type-Options: nosniff`` everywhere: a browser never reads a JSON answer that
  quotes client input as HTML or script.
"""

from __future__ import annotations

from flask import Flask, Response


def secure_headers(response: Response) -> Response:
    """Add the headers every response carries (errors, 404s, 405s and 413s included)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_response_headers(app: Flask) -> None:
    """Give every response of *app* the headers of ``secure_headers``."""
    app.after_request(secure_headers)
