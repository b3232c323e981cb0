"""The deployment under test, seen from outside: two base URLs, the CA to trust, nothing more."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conformance.source_address import client_from
from tests.support import STRONG_PASSWORD, random_name

HTTP_TIMEOUT = 10


@dataclass(frozen=True)
class Deployment:
    """Where the kit sends its requests, and what it may know besides (all optional)."""

    auth_url: str
    resource_url: str
    # requests' `verify`: True (the system's CAs) or a CA bundle, e.g. Caddy's local root.
    verify: bool | str = True
    # A folder holding the issuer's <kid>.pem private keys: the e2e ring's, or --issuer-keys-dir;
    # without one the forgeries that need a real signature are skipped.
    keys_dir: Path | None = None
    # What the kit cannot see from outside (the access-token lifetime it reads from
    # `expires_in`): the refresh reuse grace and the resource service's clock leeway, in
    # seconds, and how long a check may wait for a token or a grace window to run out.
    grace: float = 10.0
    leeway: float = 5.0
    max_wait: float = 20.0
    # Loopback addresses to send from in turn, so a deployment's per-address limits (20
    # registrations by default) count the kit as several clients; empty: the system's choice.
    source_addresses: tuple[str, ...] = ()
    # One of the deployment's AUTH_BROWSER_ORIGINS (--browser-origin): the browser-mode checks
    # send it as Origin; without one they are skipped.
    browser_origin: str | None = None
    _turn: itertools.count[int] = field(default_factory=itertools.count, compare=False)

    def wait_allowed(self, seconds: float, what: str) -> None:
        """Skip the calling check, saying why, when it would wait longer than ``max_wait``."""
        if seconds > self.max_wait:
            pytest.skip(f"{what} takes {seconds:g} s, more than --max-wait {self.max_wait:g} s")

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request to *url* (absolute) with the kit's CA and timeout."""
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        if not self.source_addresses:
            return requests.request(method, url, verify=self.verify, **kwargs)
        address = self.source_addresses[next(self._turn) % len(self.source_addresses)]
        with client_from(address) as client:
            return client.request(method, url, verify=self.verify, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET *url*."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST to *url*."""
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        """DELETE *url*."""
        return self.request("DELETE", url, **kwargs)


def bearer(access_token: str) -> dict[str, str]:
    """Return the Authorization header that presents *access_token*."""
    return {"Authorization": f"Bearer {access_token}"}


def login(
    deployment: Deployment, username: str, password: str = STRONG_PASSWORD
) -> requests.Response:
    """Log *username* in with *password*."""
    return deployment.post(
        f"{deployment.auth_url}/auth/login", json={"username": username, "password": password}
    )


def sign_up(deployment: Deployment, *, scope: str | None = None) -> dict[str, Any]:
    """Register a throwaway user and log in; return the token response plus ``username``."""
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    answer = deployment.post(f"{deployment.auth_url}/auth/register", json=credentials)
    assert answer.status_code == 201, answer.text
    body = {**credentials, **({"scope": scope} if scope else {})}
    answer = deployment.post(f"{deployment.auth_url}/auth/login", json=body)
    assert answer.status_code == 200, answer.text
    return {**answer.json(), "username": credentials["username"]}


def refresh(deployment: Deployment, refresh_token: str) -> requests.Response:
    """Present *refresh_token* to the auth service's refresh endpoint."""
    return deployment.post(
        f"{deployment.auth_url}/auth/refresh", json={"refresh_token": refresh_token}
    )
