"""Helpers of the authorization code tests: a browser reading forms, one sign-in flow, checks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from auth_service import authorization_codes, clients
from auth_service.context import operation
from tests.support import STRONG_PASSWORD

AUTHORIZE = "/oauth/authorize"
TOKEN = "/oauth/token"
URI = "https://app.example/cb"
ISSUER = "http://localhost:8001"


class Inputs(HTMLParser):
    """Collect the named inputs and buttons of a page's form, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self.labels: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "input" and named.get("name"):
            self.fields[str(named["name"])] = named.get("value") or ""
        if tag == "button" and named.get("name"):
            self.buttons.append((str(named["name"]), named.get("value") or ""))
        if tag == "label" and named.get("for"):
            self.labels.append(str(named["for"]))


def inputs(page: Any) -> Inputs:
    """Return the named inputs, buttons and labels of *page*."""
    parser = Inputs()
    parser.feed(page.get_data(as_text=True))
    return parser


@dataclass
class Flow:
    """One user signing in for one client, as a browser does it."""

    client: FlaskClient
    client_id: str
    username: str
    verifier: str = ""
    state: str = ""

    def __post_init__(self) -> None:
        self.verifier = self.verifier or secrets.token_urlsafe(32)
        self.state = self.state or secrets.token_urlsafe(8)

    def params(self, **changes: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": URI,
            "code_challenge": authorization_codes.s256(self.verifier),
            "code_challenge_method": "S256",
            "state": self.state,
            "scope": "notes:read",
        } | changes
        return {k: v for k, v in params.items() if v is not None}

    def open(self, **changes: str | None) -> Any:
        return self.client.get(f"{AUTHORIZE}?{urlencode(self.params(**changes))}")

    def sign_in(self, password: str = STRONG_PASSWORD, **changes: str | None) -> Any:
        page = self.open(**changes)
        assert page.status_code == 200, page.get_data(as_text=True)
        fields = inputs(page).fields | {"username": self.username, "password": password}
        return self.client.post(AUTHORIZE, data=fields)

    def approve(self, consent: str = "approve") -> Any:
        page = self.sign_in()
        assert page.status_code == 200, page.get_data(as_text=True)
        return self.client.post(AUTHORIZE, data=inputs(page).fields | {"consent": consent})

    def redeem(self, code: str, **changes: str) -> Any:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": URI,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
        } | changes
        return self.client.post(TOKEN, data=form)


def redirected(response: Any) -> dict[str, str]:
    """Assert a redirect to URI and return its query parameters."""
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_page(response: Any, status: int) -> str:
    """Assert an HTML page of the auth service with the headers every one of them carries."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "script-src" not in csp and "<script" not in response.get_data(as_text=True)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    return str(response.get_data(as_text=True))


def register(app: Flask, *, first_party: bool) -> str:
    with app.app_context():
        done = clients.register(
            operation(), "Notes app", [URI], confidential=False, scope=None, first_party=first_party
        )
    return done.client.id
