"""The demo page in a real browser (headless Chromium): cookie mode, refresh, tabs, CSRF.

The services run under gunicorn, the page is served on an origin of its own (as ``dev.py up``
does; over HTTPS through Caddy in test_browser_https.py), and only what a user does is driven:
typing, clicking, reloading. What the auth service saw is read from its access log.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from auth_service.browser import COOKIE_NAME
from demo.server import start_demo_server
from tests.e2e.browser import (
    TTL,
    add_note,
    audit_events,
    chromium,
    chromium_or_skip,
    open_page,
    refresh_cookie,
    register_and_sign_in,
    requests_seen,
    serve_page,
    signed_in,
    wait_for,
    wait_out_the_access_token,
)
from tests.e2e.harness import HTTP_TIMEOUT, Stack, free_port, make_stack

# A file name: test_a_reload_keeps_the_session saves the README's picture of the page there.
SCREENSHOT = os.environ.get("TOKENPAIR_SCREENSHOT")


@dataclass(frozen=True)
class Site:
    """The stack and the demo page's URL (plus a second page URL on localhost: another site)."""

    stack: Stack
    page: str
    other_site_page: str

    @property
    def auth_log(self) -> Path:
        return self.stack.auth.log_path


@pytest.fixture(scope="module")
def demo_site(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    chromium_or_skip()  # before any process starts
    page_port, localhost_port = free_port(), free_port()
    page, other = f"http://127.0.0.1:{page_port}", f"http://localhost:{localhost_port}"
    stack = make_stack(
        site,
        tmp_path_factory.mktemp("browser") / "work",
        auth_env={"AUTH_ACCESS_TOKEN_TTL": str(TTL), "AUTH_BROWSER_ORIGINS": f"{page},{other}"},
        resource_env={"RESOURCE_LEEWAY": "0", "RESOURCE_CORS_ORIGINS": f"{page},{other}"},
    )
    servers = [
        start_demo_server("127.0.0.1", page_port, stack.auth.url, stack.resource.url),
        # The same page on localhost, still calling the services on 127.0.0.1: a cross-site page.
        start_demo_server("127.0.0.1", localhost_port, stack.auth.url, stack.resource.url),
    ]
    try:
        yield Site(stack, page, other)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        stack.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "profile") as context:
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
    if SCREENSHOT:
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
    browser.route(f"{demo_site.stack.auth.url}/auth/refresh", lambda route: held.append(route))

    # Both tabs reload; both refreshes are held until both are on their way, then released
    # together: the same cookie reaches the auth service twice at once.
    first.reload(wait_until="commit")
    second.reload(wait_until="commit")
    wait_for(lambda: (first.wait_for_timeout(20), len(held) == 2)[1], "both refreshes sent")
    for route in held:
        route.continue_()
    browser.unroute(f"{demo_site.stack.auth.url}/auth/refresh")
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


ATTACKS = """async (auth) => {
  const out = {};
  try {  // preflighted (application/json): CORS grants this origin nothing
    await fetch(`${auth}/auth/refresh`, {method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: "{}"});
    out.preflighted = "sent";
  } catch (error) { out.preflighted = "blocked"; }
  // "simple" requests (text/plain, no preflight): they are sent, with the cookie
  for (const path of ["/auth/refresh", "/auth/logout"]) {
    const answer = await fetch(`${auth}${path}`, {method: "POST", mode: "no-cors",
      credentials: "include", headers: {"Content-Type": "text/plain"}, body: "{}"});
    out[path] = answer.type;
  }
  return out;
}"""


def test_a_page_of_another_origin_can_neither_refresh_nor_log_the_user_out(
    demo_site: Site, browser: Any
) -> None:
    victim = open_page(browser, demo_site.page)
    register_and_sign_in(victim)
    cookie = refresh_cookie(browser)
    log = demo_site.auth_log
    refused = sum(
        '"status": 403' in line and '"route": "/auth/' in line
        for line in log.read_text().splitlines()
    )

    with serve_page("<!doctype html><title>another site</title><p>hi</p>") as foreign:
        attacker = browser.new_page()
        attacker.goto(foreign)
        results = attacker.evaluate(ATTACKS, demo_site.stack.auth.url)
        # A cross-origin form post navigates to the answer: the 403 in the one error shape.
        attacker.evaluate(
            """(auth) => { const form = document.createElement("form");
              form.method = "post"; form.action = `${auth}/auth/logout`;
              document.body.append(form); form.submit(); }""",
            demo_site.stack.auth.url,
        )
        attacker.wait_for_selector("text=invalid_origin")

    assert results == {
        "preflighted": "blocked",
        "/auth/refresh": "opaque",
        "/auth/logout": "opaque",
    }
    wait_for(
        lambda: (
            sum(
                '"status": 403' in line and '"route": "/auth/' in line
                for line in log.read_text().splitlines()
            )
            == refused + 3
        ),
        "three refusals logged (two fetches, one form)",
    )
    assert refresh_cookie(browser) == cookie  # neither rotated nor expired
    victim.reload()
    victim.wait_for_selector("body[data-ready=true]")
    assert signed_in(victim)  # the session was neither refreshed away nor ended


def test_logout_ends_the_session_and_clears_the_cookie(demo_site: Site, browser: Any) -> None:
    page = open_page(browser, demo_site.page)
    register_and_sign_in(page)
    cookie = refresh_cookie(browser)
    assert cookie is not None

    page.click("#logout")
    page.wait_for_selector("#signin:not([hidden])")

    assert refresh_cookie(browser) is None
    again = requests.post(
        f"{demo_site.stack.auth.url}/auth/refresh",
        json={},
        headers={"Origin": demo_site.page},
        cookies={COOKIE_NAME: cookie["value"]},
        timeout=HTTP_TIMEOUT,
    )
    assert again.status_code == 401 and again.json()["error"] == "invalid_grant"
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert not signed_in(page)


def test_a_page_on_localhost_is_another_site_than_services_on_127_0_0_1(
    demo_site: Site, browser: Any
) -> None:
    page = open_page(browser, demo_site.other_site_page)
    register_and_sign_in(page)  # the login answer is read: CORS allows this origin

    # ...but Chromium keeps no SameSite=Strict cookie set by a cross-site answer.
    assert refresh_cookie(browser) is None
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert not signed_in(page)
