"""The demo page in a real browser (headless Chromium): cookie mode, refresh, tabs, CSRF.

Every test runs twice: over HTTP, the services under gunicorn and the page on an origin of its
own (as ``dev.py up`` runs them), and over HTTPS, all of it behind Caddy with deploy/Caddyfile
(as compose runs it) and the test CA trusted by the browser. Only what a user does is driven:
typing, clicking, reloading. What the auth service saw is read from its access log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.browser import (
    FOREIGN_FETCHES,
    add_note,
    audit_events,
    chromium,
    chromium_or_skip,
    open_page,
    refresh_cookie,
    refusals,
    register_and_sign_in,
    requests_seen,
    serve_page,
    signed_in,
    wait_for,
    wait_out_the_access_token,
)
from tests.e2e.demo_site import SCHEMES, Site, refresh_from_the_page, running_demo_site
from tests.e2e.harness import HTTP_TIMEOUT
from tests.support import STRONG_PASSWORD

# A file name: test_a_reload_keeps_the_session saves the README's picture of the page there.
SCREENSHOT = os.environ.get("TOKENPAIR_SCREENSHOT")


@pytest.fixture(scope="module", params=SCHEMES)
def demo_site(
    request: pytest.FixtureRequest, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    chromium_or_skip()  # before any process starts
    workdir = tmp_path_factory.mktemp(f"browser-{request.param}") / "work"
    with running_demo_site(request.param, site, workdir) as running:
        yield running


@pytest.fixture
def browser(demo_site: Site, tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "profile", home=demo_site.home) as context:
        yield context


# The tests ----------------------------------------------------------------------------------------


def test_the_refresh_token_is_never_where_a_script_can_read_it(
    demo_site: Site, browser: Any
) -> None:
    page = open_page(browser, demo_site.page)
    bodies: list[Any] = []
    page.on("response", lambda r: bodies.append(r) if r.request.resource_type == "fetch" else None)
    register_and_sign_in(page)
    add_note(page, "a secret-free note")
    first = refresh_cookie(browser)
    page.reload()
    page.wait_for_selector("#notes-view:not([hidden])")
    second = refresh_cookie(browser)

    assert first is not None and second is not None and first["value"] != second["value"]
    assert (first["httpOnly"], first["secure"], first["sameSite"], first["path"]) == (
        True,
        True,
        "Strict",
        "/auth",
    )
    readable = page.evaluate(
        "() => JSON.stringify([document.cookie, {...localStorage}, {...sessionStorage}])"
    )
    texts = [readable]
    for response in bodies:
        try:
            texts.append(response.text())
        except Exception:  # a 204 has no body to read
            continue
    assert any("access_token" in text for text in texts)  # the token answers were read
    logs = demo_site.auth_log.read_text() + demo_site.stack.resource.log_path.read_text()
    for value in (first["value"], second["value"]):
        assert not any(value in text for text in texts)
        assert value not in logs  # nor in a log line
    assert readable == '["",{},{}]'


def test_an_expired_access_token_is_refreshed_once_for_every_call_in_flight(
    demo_site: Site, browser: Any
) -> None:
    page = open_page(browser, demo_site.page)
    register_and_sign_in(page)
    add_note(page, "before expiry")
    wait_out_the_access_token()
    before = requests_seen(demo_site.auth_log, "/auth/refresh")
    shown = int(page.text_content("#refreshes") or "0")

    # Two calls at once, both with the expired token: the sessions list and a new note.
    page.fill("#note-text", "after expiry")
    page.evaluate(
        "() => { document.getElementById('reload-sessions').click();"
        " document.getElementById('add-note').click(); }"
    )
    page.wait_for_selector("#notes li:has-text('after expiry')")
    page.wait_for_selector("#sessions li")
    wait_for(
        lambda: requests_seen(demo_site.auth_log, "/auth/refresh") > before, "a refresh logged"
    )

    assert requests_seen(demo_site.auth_log, "/auth/refresh") == before + 1
    assert int(page.text_content("#refreshes") or "0") == shown + 1
    assert signed_in(page)


def test_a_reload_keeps_the_session(demo_site: Site, browser: Any) -> None:
    page = open_page(browser, demo_site.page)
    register_and_sign_in(page)
    add_note(page, "Buy oat milk")
    add_note(page, "kept across a reload")

    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    assert signed_in(page)
    assert page.text_content("#status") == "Session restored from the cookie."
    page.wait_for_selector("#notes li:has-text('kept across a reload')")
    page.wait_for_selector("#notes li:has-text('Buy oat milk')")
    if SCREENSHOT and demo_site.scheme == "http":
        page.wait_for_selector("#sessions li")
        page.set_viewport_size({"width": 900, "height": 620})
        page.screenshot(path=SCREENSHOT, full_page=True)


def test_two_tabs_refreshing_at_the_same_moment_both_stay_signed_in(
    demo_site: Site, browser: Any
) -> None:
    first = open_page(browser, demo_site.page)
    register_and_sign_in(first)
    second = open_page(browser, demo_site.page)  # restored from the same cookie
    assert signed_in(second)
    rotated, retried = (
        len(audit_events(demo_site.auth_log, name)) for name in ("refresh_rotated", "refresh_reuse")
    )
    held: list[Any] = []
    browser.route(f"{demo_site.auth_url}/auth/refresh", lambda route: held.append(route))

    # Both tabs reload; both refreshes are held until both are on their way, then released
    # together: the same cookie reaches the auth service twice at once.
    first.reload(wait_until="commit")
    second.reload(wait_until="commit")
    wait_for(lambda: (first.wait_for_timeout(20), len(held) == 2)[1], "both refreshes sent")
    for route in held:
        route.continue_()
    browser.unroute(f"{demo_site.auth_url}/auth/refresh")
    for tab in (first, second):
        tab.wait_for_selector("body[data-ready=true]")

    assert signed_in(first) and signed_in(second)
    assert len(audit_events(demo_site.auth_log, "refresh_rotated")) == rotated + 1
    reuse = audit_events(demo_site.auth_log, "refresh_reuse")[retried:]
    assert len(reuse) == 1 and '"kind": "theft"' not in reuse[0]
    # And the one chain left is live: each tab still restores after another reload.
    for tab in (first, second):
        tab.reload()
        tab.wait_for_selector("body[data-ready=true]")
        assert signed_in(tab)


def test_a_page_of_another_origin_can_neither_refresh_nor_log_the_user_out(
    demo_site: Site, browser: Any
) -> None:
    victim = open_page(browser, demo_site.page)
    register_and_sign_in(victim)
    cookie = refresh_cookie(browser)
    log = demo_site.auth_log
    refused = refusals(log)

    # Over HTTPS the foreign page is HTTPS too: same site, other origin, so the cookie goes along.
    html = "<!doctype html><title>another site</title><p>hi</p>"
    with serve_page(html, tls=demo_site.certificates) as foreign:
        attacker = browser.new_page()
        attacker.goto(foreign)
        results = attacker.evaluate(FOREIGN_FETCHES, demo_site.auth_url)
        # A cross-origin form post navigates to the answer: the 403 in the one error shape.
        attacker.evaluate(
            """(auth) => { const form = document.createElement("form");
              form.method = "post"; form.action = `${auth}/auth/logout`;
              document.body.append(form); form.submit(); }""",
            demo_site.auth_url,
        )
        attacker.wait_for_selector("text=invalid_origin")

    assert results == {
        "preflighted": "blocked",
        "/auth/refresh": "opaque",
        "/auth/logout": "opaque",
    }
    wait_for(lambda: refusals(log) == refused + 3, "three refusals logged (two fetches, one form)")
    assert refresh_cookie(browser) == cookie  # neither rotated nor expired
    victim.reload()
    victim.wait_for_selector("body[data-ready=true]")
    assert signed_in(victim)  # the session was neither refreshed away nor ended


def test_a_deleted_note_and_an_ended_session_stay_gone(demo_site: Site, browser: Any) -> None:
    page = open_page(browser, demo_site.page)
    username = register_and_sign_in(page)
    add_note(page, "to keep")
    add_note(page, "to delete")

    page.click("#notes li:has-text('to delete') button")
    page.wait_for_selector("#notes li:has-text('to delete')", state="detached")
    page.reload()
    page.wait_for_selector("#notes li:has-text('to keep')")
    assert page.locator("#notes li:has-text('to delete')").count() == 0

    # Another device of the same user (JSON mode, no Origin), ended from this page's list.
    device = requests.post(
        f"{demo_site.auth_url}/auth/login",
        json={"username": username, "password": STRONG_PASSWORD},
        verify=demo_site.verify,
        timeout=HTTP_TIMEOUT,
    ).json()["refresh_token"]
    page.click("#reload-sessions")
    page.wait_for_selector("#sessions li >> nth=1")
    page.click("#sessions li:not(:has(.current)) button")
    page.wait_for_selector("#sessions li >> nth=1", state="detached")
    assert page.text_content("#status") == "Session ended."
    refused = requests.post(
        f"{demo_site.auth_url}/auth/refresh",
        json={"refresh_token": device},
        verify=demo_site.verify,
        timeout=HTTP_TIMEOUT,
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_grant"

    # And this browser's own session: the page signs out and the cookie is gone.
    cookie = refresh_cookie(browser)
    assert cookie is not None
    page.click("#sessions li:has(.current) button")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.text_content("#status") == "This session was ended."
    assert refresh_cookie(browser) is None
    assert refresh_from_the_page(demo_site, cookie["value"]).status_code == 401


def test_logout_ends_the_session_and_clears_the_cookie(demo_site: Site, browser: Any) -> None:
    page = open_page(browser, demo_site.page)
    register_and_sign_in(page)
    cookie = refresh_cookie(browser)
    assert cookie is not None

    page.click("#logout")
    page.wait_for_selector("#signin:not([hidden])")

    assert refresh_cookie(browser) is None
    again = refresh_from_the_page(demo_site, cookie["value"])  # the session is over, too
    assert again.status_code == 401 and again.json()["error"] == "invalid_grant"
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert not signed_in(page)


@pytest.mark.parametrize("demo_site", ["http"], indirect=True)  # the proxy serves 127.0.0.1 only
def test_a_page_on_localhost_is_another_site_than_services_on_127_0_0_1(
    demo_site: Site, browser: Any
) -> None:
    assert demo_site.other_site_page is not None
    page = open_page(browser, demo_site.other_site_page)
    register_and_sign_in(page)  # the login answer is read: CORS allows this origin

    # ...but Chromium keeps no SameSite=Strict cookie set by a cross-site answer.
    assert refresh_cookie(browser) is None
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert not signed_in(page)


@pytest.mark.parametrize("demo_site", ["https"], indirect=True)
def test_a_browser_without_the_test_ca_refuses_the_proxy(demo_site: Site, tmp_path: Path) -> None:
    # What makes every HTTPS test above work is the trust in the test CA; without it, nothing.
    with chromium(tmp_path / "untrusting") as untrusting:
        with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
            untrusting.new_page().goto(demo_site.page)
