"""A small tokenpair client: log in once, then keep calling through access-token expiry.

The client holds one token pair. When the resource service answers 401 with
``error="invalid_token"`` (RFC 6750 §3.1), it refreshes once, stores the *new* refresh token
(the old one is dead from then on), and retries the request once. The user never sees the
expiry; they see a session that lasts as long as the refresh token chain does.

    python -m examples.client demo --auth http://127.0.0.1:8001 \\
        --resource http://127.0.0.1:8002 --username alice-1 --register --calls 8 --interval 5

Single-threaded on purpose: one client object per user and thread. Two threads sharing one
object would refresh concurrently; the auth service answers both with the same new refresh
token inside its grace window, but a real app should serialise refreshes behind a lock.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

TIMEOUT = 10.0
_BEARER_ERROR = re.compile(r'\berror="([^"]*)"')


class TokenpairError(Exception):
    """The auth or resource service refused a request the client could not recover from."""


class LoginRequired(TokenpairError):
    """There is no usable session: never logged in, logged out, expired or revoked."""


@dataclass(frozen=True)
class Tokens:
    """One token response; the secrets are left out of repr() so logs never show them."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    scope: str

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> Tokens:
        """Build from an RFC 6749 §5.1 token response."""
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_in=int(body["expires_in"]),
            scope=str(body.get("scope", "")),
        )


def redact(token: str) -> str:
    """Return a short, safe-to-print prefix of a token."""
    return f"{token[:6]}..."


def bearer_error(response: requests.Response) -> str | None:
    """Return the ``error`` of a Bearer WWW-Authenticate challenge, or None."""
    match = _BEARER_ERROR.search(response.headers.get("WWW-Authenticate", ""))
    return match.group(1) if match else None


class TokenpairClient:
    """Call the resource service as one logged-in user, refreshing transparently on expiry."""

    def __init__(
        self,
        auth_url: str,
        resource_url: str,
        *,
        http: requests.Session | None = None,
        on_refresh: Callable[[Tokens], None] | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.auth_url = auth_url.rstrip("/")
        self.resource_url = resource_url.rstrip("/")
        self.http = http or requests.Session()
        self.on_refresh = on_refresh
        self.timeout = timeout
        self.tokens: Tokens | None = None
        self.refreshes = 0

    # Auth service ---------------------------------------------------------------------------

    def register(self, username: str, password: str) -> bool:
        """Create the account; return False if the username is already taken."""
        response = self._auth("/auth/register", {"username": username, "password": password})
        if response.status_code == 409:
            return False
        _raise_for(response)
        return True

    def login(self, username: str, password: str, scope: str | None = None) -> Tokens:
        """Log in and keep the token pair; raise LoginRequired on bad credentials."""
        body: dict[str, str] = {"username": username, "password": password}
        if scope is not None:
            body["scope"] = scope
        response = self._auth("/auth/login", body)
        if response.status_code == 401:
            raise LoginRequired(_describe(response))
        _raise_for(response)
        self.tokens = Tokens.from_response(response.json())
        return self.tokens

    def refresh(self) -> Tokens:
        """Trade the refresh token for a new pair; the old refresh token stops working."""
        if self.tokens is None:
            raise LoginRequired("not logged in")
        presented = {"refresh_token": self.tokens.refresh_token}
        try:
            response = self._auth("/auth/refresh", presented)
        except (requests.ConnectionError, requests.Timeout):
            # The answer may have been lost after the server rotated the token. Presenting the
            # same token again inside the grace window returns the same new pair: no logout.
            response = self._auth("/auth/refresh", presented)
        if response.status_code == 401:
            self.tokens = None  # expired, revoked or reused: only a new login helps
            raise LoginRequired(_describe(response))
        _raise_for(response)
        self.tokens = Tokens.from_response(response.json())
        self.refreshes += 1
        if self.on_refresh is not None:
            self.on_refresh(self.tokens)
        return self.tokens

    def logout(self) -> None:
        """Revoke this session on the auth service and forget the tokens."""
        if self.tokens is None:
            return
        _raise_for(self._auth("/auth/logout", {"refresh_token": self.tokens.refresh_token}))
        self.tokens = None

    # Resource service -----------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the resource service; on an invalid access token refresh once and retry once."""
        response = self._resource(method, path, **kwargs)
        # Only invalid_token means "a new access token may help". insufficient_scope (403) and
        # invalid_request (400) would fail again with a fresh token, so they are returned as is.
        if response.status_code == 401 and bearer_error(response) == "invalid_token":
            self.refresh()
            response = self._resource(method, path, **kwargs)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET a resource path, e.g. ``/api/notes``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """POST to a resource path, e.g. ``/api/notes`` with ``json={"text": ...}``."""
        return self.request("POST", path, **kwargs)

    # Plumbing -------------------------------------------------------------------------------

    def _auth(self, path: str, body: dict[str, str]) -> requests.Response:
        return self.http.post(f"{self.auth_url}{path}", json=body, timeout=self.timeout)

    def _resource(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self.tokens is None:
            raise LoginRequired("not logged in")
        headers = {
            **(kwargs.pop("headers", None) or {}),
            "Authorization": f"Bearer {self.tokens.access_token}",
        }
        kwargs.setdefault("timeout", self.timeout)
        return self.http.request(method, f"{self.resource_url}{path}", headers=headers, **kwargs)


def _describe(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and "error" in body:
        return f"HTTP {response.status_code} {body['error']}: {body.get('error_description', '')}"
    return f"HTTP {response.status_code}"


def _raise_for(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise TokenpairError(f"{response.request.method} {response.url}: {_describe(response)}")


# The demo -----------------------------------------------------------------------------------


def ask_password() -> str | None:
    """Ask for the password on the terminal; None when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        return None  # getpass would read a piped stdin, or die with EOFError on an empty one
    try:
        return getpass.getpass() or None
    except EOFError:
        return None


def demo(args: argparse.Namespace) -> int:
    """Log in, then call the resource service N times, across as many expiries as it takes."""
    password = args.password or os.environ.get("TOKENPAIR_PASSWORD") or ask_password()
    if password is None:
        print(
            "failed: no password: pass --password, set TOKENPAIR_PASSWORD, or run in a terminal",
            file=sys.stderr,
        )
        return 2

    def announce(tokens: Tokens) -> None:
        print(
            f"  -> access token no longer accepted: refreshed transparently "
            f"(new refresh token {redact(tokens.refresh_token)}, "
            f"access token valid {tokens.expires_in} s)",
            flush=True,
        )

    client = TokenpairClient(args.auth, args.resource, on_refresh=announce)
    try:
        if args.register:
            created = client.register(args.username, password)
            print(f"registered {args.username}" if created else f"{args.username} exists already")
        tokens = client.login(args.username, password)
        print(
            f"logged in as {args.username}: access token valid {tokens.expires_in} s, "
            f"refresh token {redact(tokens.refresh_token)}",
            flush=True,
        )
        for call in range(1, args.calls + 1):
            if call > 1:
                time.sleep(args.interval)
            created_note = client.post("/api/notes", json={"text": f"demo call {call}"})
            _raise_for(created_note)
            listed = client.get("/api/notes")
            _raise_for(listed)
            count = len(listed.json()["notes"])
            print(f"call {call}/{args.calls}: saved a note, {count} notes listed", flush=True)
        client.logout()
    except (TokenpairError, requests.RequestException) as error:
        print(f"failed: {error}", file=sys.stderr)
        return 1
    plural = "" if client.refreshes == 1 else "es"
    print(f"done: {args.calls} calls, {client.refreshes} transparent refresh{plural}, logged out")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.client",
        description="A tokenpair client that refreshes its access token transparently.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="show a session continuing across token expiry")
    run.add_argument("--auth", default="http://127.0.0.1:8001", help="auth service base URL")
    run.add_argument("--resource", default="http://127.0.0.1:8002", help="resource service URL")
    run.add_argument("--username", required=True)
    run.add_argument(
        "--password", help="default: $TOKENPAIR_PASSWORD, else asked for (keeps it out of ps)"
    )
    run.add_argument("--register", action="store_true", help="create the account first")
    run.add_argument("--calls", type=int, default=5, help="how many calls to make (default 5)")
    run.add_argument(
        "--interval", type=float, default=2.0, help="seconds between calls (default 2)"
    )
    args = parser.parse_args(argv)
    try:
        return demo(args)
    except KeyboardInterrupt:  # Ctrl-C during the demo's sleeps: stop quietly
        return 130


if __name__ == "__main__":
    sys.exit(main())
