"""What an OAuth client and its user do against a running stack, found through the metadata.

The authorization pages are driven as a browser without JavaScript would drive them: every
form is read with html.parser and submitted to its action with its method, every input it
holds (hidden ones included), what the user typed, and the name/value of the clicked button.
Nothing here knows the auth service's paths or markup beyond the contract: inputs named
``username`` and ``password``, and an approval button ``name="consent" value="approve"``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests

from tests.e2e.harness import HTTP_TIMEOUT, Stack
from tests.support import STRONG_PASSWORD, random_name

MAX_PAGES = 6  # login, approval and a redirect or two between them: a loop is a failure


# The operator and the user ----------------------------------------------------------------------


def add_client(stack: Stack, *args: str, name: str = "e2e client") -> dict[str, Any]:
    """Register a client with the operator command and return what it printed."""
    printed = stack.auth.flask("clients", "add", name, *args).stdout
    return dict(json.loads(printed))


def metadata(stack: Stack) -> dict[str, Any]:
    """Return the auth service's RFC 8414 metadata."""
    url = f"{stack.auth.url}/.well-known/oauth-authorization-server"
    return dict(requests.get(url, timeout=HTTP_TIMEOUT).json())


@dataclass(frozen=True)
class User:
    username: str
    id: str  # the ``sub`` of this user's tokens
    password: str = STRONG_PASSWORD


def new_user(stack: Stack) -> User:
    """Register a user through the JSON API (signing up is not OAuth's business)."""
    username = random_name()
    answer = requests.post(
        f"{stack.auth.url}/auth/register",
        json={"username": username, "password": STRONG_PASSWORD},
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    return User(username, str(answer.json()["id"]))


# PKCE (RFC 7636), for the tests that build requests by hand ----------------------------------


def pkce_pair() -> tuple[str, str]:
    """Return a fresh (code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(stack: Stack, **params: str) -> str:
    """Return the metadata's authorization endpoint with *params* as its query."""
    return f"{metadata(stack)['authorization_endpoint']}?{urlencode(params)}"


# HTML forms, read and submitted as a browser would ---------------------------------------------


@dataclass
class Form:
    """One <form>: where it goes, its fields in document order, and its named submit buttons."""

    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def has_input(self, name: str) -> bool:
        return any(key == name for key, _ in self.fields)

    def has_button(self, name: str, value: str) -> bool:
        return (name, value) in self.buttons

    def submit(
        self,
        browser: requests.Session,
        typed: dict[str, str] | None = None,
        button: tuple[str, str] | None = None,
    ) -> requests.Response:
        """Send the form: its fields with what was *typed* into them, plus the clicked *button*."""
        typed = typed or {}
        data = [(name, typed.get(name, value)) for name, value in self.fields]
        if button is not None:
            assert button in self.buttons, f"no button {button} in the form ({self.buttons})"
            data.append(button)
        if self.method == "get":
            url = f"{self.action}{'&' if '?' in self.action else '?'}{urlencode(data)}"
            return browser.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        return browser.post(self.action, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)


class _FormReader(HTMLParser):
    """Collect every form's inputs and buttons; text fields without a value submit ""."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = urljoin(self.page_url, attributes.get("action") or self.page_url)
            method = (attributes.get("method") or "get").lower()
            self._current = Form(action, "post" if method == "post" else "get")
            self.forms.append(self._current)
            return
        form, name = self._current, attributes.get("name")
        if form is None or not name:
            return
        kind = attributes.get("type", "submit" if tag == "button" else "text").lower()
        if kind in ("submit", "image") and tag in ("button", "input"):
            form.buttons.append((name, attributes.get("value", "")))
        elif tag != "input" or kind in ("button", "reset", "file"):
            return  # not submitted (a <select> or <textarea> would be: the pages have none)
        elif kind in ("checkbox", "radio"):
            if "checked" in attributes:
                form.fields.append((name, attributes.get("value") or "on"))
        else:
            form.fields.append((name, attributes.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(answer: requests.Response) -> list[Form]:
    """Return the forms of an HTML answer, actions resolved against its URL."""
    reader = _FormReader(answer.url)
    reader.feed(answer.text)
    reader.close()
    return reader.forms


# The authorization step, from the client's URL to its redirect URI ---------------------------


@dataclass
class Walk:
    """Where the authorization step ended (the Location to the client) and what it showed."""

    location: str
    pages: list[str]  # "login", "approval": the pages the user was shown, in order

    @property
    def query(self) -> dict[str, str]:
        """The redirect's query parameters, each once."""
        return {key: values[0] for key, values in parse_qs(urlsplit(self.location).query).items()}


def authorize(
    url: str,
    redirect_uri: str,
    user: User,
    *,
    browser: requests.Session | None = None,
    consent: str = "approve",
) -> Walk:
    """Open the authorization *url*, log in as *user*, answer the approval with *consent*;
    return the redirect to *redirect_uri*. Fails (with the page) on anything else."""
    browser = browser or requests.Session()  # it keeps the pages' cookie, as a browser
    answer = browser.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    pages: list[str] = []
    for _ in range(MAX_PAGES):
        if answer.is_redirect:
            location = urljoin(answer.url, answer.headers["Location"])
            if location.split("?")[0] == redirect_uri:
                return Walk(location, pages)
            answer = browser.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT)
            continue
        assert answer.status_code == 200, f"{answer.status_code} at {answer.url}: {answer.text}"
        login = [f for f in forms_of(answer) if f.has_input("username") and f.has_input("password")]
        approval = [f for f in forms_of(answer) if f.has_button("consent", "approve")]
        if login:
            pages.append("login")
            typed = {"username": user.username, "password": user.password}
            clicked = login[0].buttons[0] if login[0].buttons else None
            answer = login[0].submit(browser, typed, clicked)
        elif approval:
            pages.append("approval")
            (form,) = [f for f in forms_of(answer) if f.has_button("consent", consent)]
            answer = form.submit(browser, button=("consent", consent))
        else:
            raise AssertionError(f"no login or approval form at {answer.url}:\n{answer.text}")
    raise AssertionError(f"no redirect to {redirect_uri} after {MAX_PAGES} pages: {pages}")


def code_for(
    stack: Stack, client_id: str, redirect_uri: str, user: User, scope: str = "notes:read"
) -> tuple[str, str]:
    """Run the authorization step by hand; return (code, code_verifier)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    url = authorization_url(
        stack,
        response_type="code",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    walk = authorize(url, redirect_uri, user)
    assert walk.query.get("state") == state, walk.location
    return walk.query["code"], verifier


def redeem(
    stack: Stack,
    code: str,
    verifier: str,
    redirect_uri: str,
    client_id: str,
    secret: str | None = None,
) -> requests.Response:
    """Exchange a code at the token endpoint (Basic for a confidential client, else client_id)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    form["code_verifier"] = verifier
    auth = (client_id, secret) if secret is not None else None
    if secret is None:
        form["client_id"] = client_id
    return requests.post(
        metadata(stack)["token_endpoint"], data=form, auth=auth, timeout=HTTP_TIMEOUT
    )


def refresh_at_token_endpoint(
    stack: Stack, refresh_token: str, client_id: str, secret: str | None = None
) -> requests.Response:
    """Present a refresh token at the token endpoint as *client_id*."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    auth = (client_id, secret) if secret is not None else None
    if secret is None:
        form["client_id"] = client_id
    return requests.post(
        metadata(stack)["token_endpoint"], data=form, auth=auth, timeout=HTTP_TIMEOUT
    )


def introspect(stack: Stack, token: str) -> dict[str, Any]:
    """Ask the introspection endpoint about *token*, as a confidential client made for it."""
    registered = add_client(
        stack, "--redirect-uri", "https://introspector.example/cb", "--confidential"
    )
    answer = requests.post(
        metadata(stack)["introspection_endpoint"],
        data={"token": token},
        auth=(registered["client_id"], registered["client_secret"]),
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
