"""Helpers of the browser-client integration tests: a page of an origin, cookies, counters."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from auth_service.browser import COOKIE_NAME
from auth_service.extensions import db
from auth_service.models import ThrottleCounter
from tests.support import STRONG_PASSWORD

PAGE = "http://localhost:8003"  # AUTH_BROWSER_ORIGINS below
OWN = "http://localhost:8001"  # AUTH_ISSUER's origin (the default issuer)
FOREIGN = "https://evil.example"
GRACE = 10  # AUTH_REFRESH_REUSE_GRACE of the integration auth_env


class Page:
    """A web page of *origin* calling the auth service with fetch(..., credentials: 'include')."""

    def __init__(self, client: FlaskClient, origin: str = PAGE) -> None:
        self.client = client
        self.origin = origin

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = {"Origin": self.origin, **kwargs.pop("headers", {})}
        if "data" in kwargs:
            return self.client.post(path, headers=headers, **kwargs)
        return self.client.post(path, json={} if body is None else body, headers=headers, **kwargs)

    def login(self, username: str) -> Any:
        return self.post("/auth/login", {"username": username, "password": STRONG_PASSWORD})

    def cookie(self) -> str | None:
        cookie = self.client.get_cookie(COOKIE_NAME, domain="localhost", path="/auth")
        return None if cookie is None else cookie.value


def set_cookie(response: Any) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME)]
    return str(header)


def attributes(header: str) -> dict[str, str]:
    """Return the attributes of a Set-Cookie header, lower-cased names, the value dropped."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1) + [""])[1] for p in parts}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def count(auth_app: Flask, model: Any) -> int:
    with auth_app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def throttle_total(auth_app: Flask) -> int:
    with auth_app.app_context():
        return int(db.session.scalar(select(func.coalesce(func.sum(ThrottleCounter.hits), 0))))


def preflight(client: FlaskClient, path: str, origin: str, headers: str = "content-type") -> Any:
    """Send the CORS preflight a browser sends before a POST with *headers* from *origin*."""
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )
