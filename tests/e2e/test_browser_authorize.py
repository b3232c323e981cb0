"""The authorization pages in a real browser (headless Chromium): log in, approve, land.

A registered client that is not first-party sends the user to the authorization endpoint;
the user types into the labelled fields, submits, clicks Approve, and the browser lands on
the client's redirect URI (a tiny page on loopback) with ``code`` and ``state``, which the
client (Authlib) exchanges. No JavaScript is needed by the pages, none is run by the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.e2e.browser import chromium, chromium_or_skip, serve_page
from tests.e2e.harness import HTTP_TIMEOUT, Stack, running_stack
from tests.e2e.oauth_helpers import add_client, metadata, new_user

# TOKENPAIR_SCREENSHOT=docs/demo.png: the pictures of the two pages go beside it, for the README.
SCREENSHOT = os.environ.get("TOKENPAIR_SCREENSHOT")
LANDING = "<!doctype html><title>Example app</title><p>Signed in with tokenpair.</p>"


@pytest.fixture(scope="module")
def stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    chromium_or_skip()  # before any process starts
    with running_stack(site, tmp_path_factory.mktemp("authorize")) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "profile") as context:
        yield context


def screenshot(page: Any, name: str) -> None:
    """Save the page beside TOKENPAIR_SCREENSHOT, when it is set."""
    if SCREENSHOT:
        page.set_viewport_size({"width": 900, "height": 620})
        page.screenshot(path=str(Path(SCREENSHOT).parent / name), full_page=True)


def test_a_user_logs_in_and_approves_a_client_in_the_browser(stack: Stack, browser: Any) -> None:
    user = new_user(stack)
    meta = metadata(stack)
    with serve_page(LANDING) as app:
        redirect_uri = f"{app}/callback"
        client_id = add_client(stack, "--redirect-uri", redirect_uri, name="Example app")[
            "client_id"
        ]
        session = OAuth2Session(
            client_id, redirect_uri=redirect_uri, scope="notes:read", code_challenge_method="S256"
        )
        verifier = generate_token(48)
        url, state = session.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier
        )
        page = browser.new_page()

        page.goto(url)
        page.get_by_label(re.compile("user", re.I)).fill(user.username)
        page.get_by_label(re.compile("password", re.I)).fill(user.password)
        screenshot(page, "oauth-login.png")
        page.locator(
            "form:has(input[name=password]) :is(button:not([type]), [type=submit])"
        ).first.click()
        approve = page.locator("button[name=consent][value=approve]")
        approve.wait_for()
        screenshot(page, "oauth-approval.png")
        approve.click()
        page.wait_for_url(f"{redirect_uri}?**")
        landed = page.url
        shown = page.text_content("body")

    assert shown is not None and "Signed in with tokenpair." in shown  # the client's own page
    assert f"state={state}" in landed and "code=" in landed
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=landed, code_verifier=verifier
    )
    me = session.get(f"{stack.resource.url}/api/me", timeout=HTTP_TIMEOUT)
    assert me.status_code == 200 and me.json()["sub"] == user.id
    assert token["scope"] == "notes:read"
