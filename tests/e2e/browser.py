"""Debian's Chromium, driven by Playwright: a fresh profile per test, never a downloaded browser.

Skipped with the reason when Chromium (or Playwright) is missing, a failure when
TOKENPAIR_REQUIRE_BROWSER=1 (as in CI, where ``.ci/run`` installs ``chromium``).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from auth_service.browser import COOKIE_NAME
from tests.e2e.proxy import Certificates
from tests.support import STRONG_PASSWORD, random_name

BROWSER_REQUIRED = os.environ.get("TOKENPAIR_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEADLINE = 20.0  # seconds any one step of a page may take on a busy machine


def chromium_or_skip() -> str:
    """Return the path of Debian's chromium; skip (or fail when required) without it."""
    reason = None
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        reason = "no chromium on PATH (Debian: apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pyproject.toml, test extra)"
    if reason is not None:
        if BROWSER_REQUIRED:
            pytest.fail(f"{reason} (TOKENPAIR_REQUIRE_BROWSER=1 makes it mandatory)")
        pytest.skip(reason)
    assert path is not None
    return path


@contextmanager
def chromium(profile: Path, *, home: Path | None = None) -> Iterator[Any]:
    """Yield a Playwright BrowserContext of headless Chromium with the fresh profile *profile*.

    *home* is the HOME Chromium runs with: its ``.pki/nssdb`` is the CA store it trusts.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            env={**os.environ, "HOME": str(home or profile)},
        )
        context.set_default_timeout(DEADLINE * 1000)
        try:
            yield context
        finally:
            context.close()


def requests_seen(log_path: Path, route: str, method: str = "POST") -> int:
    """Return how many requests to *route* the service's access log recorded."""
    count = 0
    for line in log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("route") == route and record.get("method") == method:
            count += 1
    return count


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll *condition* until it holds; fail naming *what* after *deadline* seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {deadline} s: {what}")


@contextmanager
def serve_page(html: str, tls: Certificates | None = None) -> Iterator[str]:
    """Serve *html* at / on a free loopback port (a foreign site's page); yield its origin.

    With *tls*, over HTTPS with its server certificate (for 127.0.0.1, signed by its CA).
    """
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def trusting_home(folder: Path, ca_file: Path) -> Path:
    """Return a HOME whose NSS database (what Chromium on Linux trusts) holds *ca_file* as a CA."""
    certutil = shutil.which("certutil")
    if certutil is None:
        reason = "no certutil (Debian: apt-get install -y libnss3-tools) to trust the test CA"
        if BROWSER_REQUIRED:
            pytest.fail(f"{reason} (TOKENPAIR_REQUIRE_BROWSER=1 makes it mandatory)")
        pytest.skip(reason)
    database = folder / ".pki" / "nssdb"
    database.mkdir(parents=True)
    subprocess.run(
        [certutil, "-d", f"sql:{database}", "-N", "--empty-password"], check=True, timeout=30
    )
    subprocess.run(
        [certutil, "-d", f"sql:{database}", "-A", "-t", "C,,", "-n", "tokenpair test CA",
         "-i", str(ca_file)],
        check=True, timeout=30,
    )  # fmt: skip
    return folder


# What a user does on the demo page ---------------------------------------------------------------

TTL = 3  # seconds the browser tests' access tokens live: long enough for a step, short to wait out


def open_page(context: Any, url: str) -> Any:
    """Open *url* in a new tab and wait until the page has decided whether it is signed in."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page


def register_and_sign_in(page: Any) -> str:
    """Register a new user through the page's form and wait for the notes; return the name."""
    username = random_name()
    page.fill("#name", username)
    page.fill("#password", STRONG_PASSWORD)
    page.click("#register")
    page.wait_for_selector("#notes-view:not([hidden])")
    return username


def add_note(page: Any, text: str) -> None:
    """Add a note through the page and wait until it is listed."""
    page.fill("#note-text", text)
    page.click("#add-note")
    page.wait_for_selector(f"#notes li:has-text('{text}')")


def signed_in(page: Any) -> bool:
    """Return whether the page shows the signed-in screens."""
    return bool(page.locator("#notes-view").is_visible())


def refresh_cookie(context: Any) -> dict[str, Any] | None:
    """Return the refresh cookie the browser holds (as Playwright reports it), if any."""
    return next((c for c in context.cookies() if c["name"] == COOKIE_NAME), None)


def wait_out_the_access_token() -> None:
    """Wait until an access token issued now has expired."""
    time.sleep(TTL + 0.5)  # the one thing here that needs the clock: a token must expire


def audit_events(log: Path, event: str) -> list[str]:
    """Return the audit lines of *event* in a service's log."""
    return [line for line in log.read_text().splitlines() if f'"event": "{event}"' in line]


def refusals(log: Path) -> int:
    """Return how many /auth/... requests the auth service's access log shows refused 403."""
    return sum(
        '"status": 403' in line and '"route": "/auth/' in line
        for line in log.read_text().splitlines()
    )


# What a page of another origin tries with the user's cookie (the auth URL its argument).
FOREIGN_FETCHES = """async (auth) => {
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
