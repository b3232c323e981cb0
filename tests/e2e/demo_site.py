"""Where the browser tests' demo page runs: as ``dev.py up`` runs it, and as compose does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from auth_service.browser import COOKIE_NAME
from demo.server import start_demo_server
from tests.e2e.browser import TTL, trusting_home
from tests.e2e.harness import HTTP_TIMEOUT, Stack, free_port, make_stack
from tests.e2e.proxy import Certificates, running_https_stack

SCHEMES = ["http", "https"]
AUTH_ENV = {"AUTH_ACCESS_TOKEN_TTL": str(TTL)}
RESOURCE_ENV = {"RESOURCE_LEEWAY": "0"}


@dataclass(frozen=True)
class Site:
    """The stack and the demo page as the browser reaches them: directly, or through the proxy."""

    scheme: str
    stack: Stack
    page: str
    auth_url: str  # what the page calls: the auth service itself, or the proxy in front of it
    other_site_page: str | None = None  # HTTP only: the page on localhost, another site
    home: Path | None = None  # HTTPS only: a HOME whose NSS database trusts the test CA
    certificates: Certificates | None = None  # HTTPS only: the proxy's CA and certificate

    @property
    def auth_log(self) -> Path:
        return self.stack.auth.log_path

    @property
    def verify(self) -> str | bool:
        """Return what requests must verify the auth URL's certificate with."""
        return True if self.certificates is None else str(self.certificates.ca_file)


def running_demo_site(scheme: str, site: Path, workdir: Path) -> AbstractContextManager[Site]:
    """Run the stack and serve the demo page over *scheme* (one of SCHEMES) until the exit."""
    return (served_over_https if scheme == "https" else served_over_http)(site, workdir)


@contextmanager
def served_over_http(site: Path, workdir: Path) -> Iterator[Site]:
    """The services on loopback and the page on an origin of its own, as ``dev.py up`` runs them.

    The page is served once more on localhost, still calling the services on 127.0.0.1: a page
    of another site that is an allowed origin all the same.
    """
    page_port, localhost_port = free_port(), free_port()
    page, other = f"http://127.0.0.1:{page_port}", f"http://localhost:{localhost_port}"
    stack = make_stack(
        site,
        workdir,
        auth_env={**AUTH_ENV, "AUTH_BROWSER_ORIGINS": f"{page},{other}"},
        resource_env={**RESOURCE_ENV, "RESOURCE_CORS_ORIGINS": f"{page},{other}"},
    )
    servers = [
        start_demo_server("127.0.0.1", port, stack.auth.url, stack.resource.url)
        for port in (page_port, localhost_port)
    ]
    try:
        yield Site("http", stack, page, stack.auth.url, other_site_page=other)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        stack.stop()


@contextmanager
def served_over_https(site: Path, workdir: Path) -> Iterator[Site]:
    """The services and the page behind Caddy with deploy/Caddyfile, as compose runs them."""
    with running_https_stack(site, workdir, auth_env=AUTH_ENV, resource_env=RESOURCE_ENV) as edge:
        home = trusting_home(workdir / "home", edge.ca_file)
        yield Site(
            "https", edge.stack, edge.proxy.demo_url, edge.proxy.auth_url,
            home=home, certificates=edge.proxy.certificates,
        )  # fmt: skip


def refresh_from_the_page(site: Site, refresh_token: str) -> requests.Response:
    """Refresh as the demo page would, with *refresh_token* in the cookie."""
    return requests.post(
        f"{site.auth_url}/auth/refresh",
        json={},
        headers={"Origin": site.page},
        cookies={COOKIE_NAME: refresh_token},
        verify=site.verify,
        timeout=HTTP_TIMEOUT,
    )
