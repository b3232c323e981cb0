"""Browser clients: the Origin check, CORS, and the HttpOnly cookie that carries refresh tokens.

The session rules (``sessions.py``) do not know about any of this: a browser request rotates,
retries and is caught reusing a token by the very same code as a JSON client. Only where the
refresh token comes from and goes to differs, and that is decided here, once:

- a ``POST`` whose ``Origin`` is one of ``AUTH_BROWSER_ORIGINS`` is a browser request: the
  refresh token travels only in the cookie below, never in a body a script can read;
- a state-changing request to ``/auth/...`` with any other ``Origin`` (``null`` included), unless
  it is the service's own (``AUTH_ISSUER``'s), is refused before a view runs: no rule is called,
  so nothing is registered, revoked or counted;
- no ``Origin`` at all (curl, mobile apps, servers): the JSON mode, unchanged.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS

from auth_service.settings import Settings
from shared.errors import error_response
from shared.origins import origin_of

# Path=/auth: the browser never sends it to the resource service nor to any other path of this
# host. Not a __Host- name, which would demand Path=/.
COOKIE_NAME = "tokenpair_refresh"
COOKIE_PATH = "/auth"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a page may send and read across origins (Retry-After: when a 429 ends).
ALLOWED_HEADERS = ["Content-Type", "Authorization"]
EXPOSED_HEADERS = ["Retry-After", "WWW-Authenticate"]


def init_browser_clients(app: Flask, settings: Settings) -> None:
    """Refuse foreign origins on /auth/... and answer CORS for AUTH_BROWSER_ORIGINS."""
    accepted = set(settings.browser_origins)
    own = origin_of(settings.issuer)
    if own is not None:
        accepted.add(own)

    @app.before_request
    def refuse_foreign_origins() -> Response | None:
        origin = request.headers.get("Origin")
        if (
            origin is None
            or request.method in SAFE_METHODS
            or not request.path.startswith("/auth/")
            or origin in accepted
        ):
            return None
        return error_response(
            403, "invalid_origin", "Requests from this origin are not accepted here"
        )

    if settings.browser_origins:
        CORS(
            app,
            resources={r"/auth/.*": {}},
            origins=list(settings.browser_origins),
            supports_credentials=True,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            methods=["GET", "POST", "DELETE"],
            max_age=600,
            # Its default answers a request without Origin with every allowed origin listed.
            always_send=False,
        )


def is_browser_request(settings: Settings) -> bool:
    """Return whether this request comes from a page of one of AUTH_BROWSER_ORIGINS."""
    return request.headers.get("Origin") in settings.browser_origins


def refresh_cookie() -> str | None:
    """Return the refresh token the browser sent in its cookie, if any."""
    return request.cookies.get(COOKIE_NAME) or None


def set_refresh_cookie(response: Response, refresh_token: str, max_age: int) -> None:
    """Hand *refresh_token* to the browser in the one cookie no script can read."""
    response.set_cookie(
        COOKIE_NAME,
        refresh_token,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )


def expire_refresh_cookie(response: Response) -> None:
    """Tell the browser to drop the refresh cookie (same name, path and attributes)."""
    response.delete_cookie(
        COOKIE_NAME, path=COOKIE_PATH, secure=True, httponly=True, samesite="Strict"
    )
