"""The demo page over HTTPS through Caddy (the Caddyfile compose runs), the test CA trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import (
    TTL,
    add_note,
    chromium,
    chromium_or_skip,
    open_page,
    refresh_cookie,
    register_and_sign_in,
    requests_seen,
    trusting_home,
    wait_out_the_access_token,
)
from tests.e2e.proxy import running_https_stack


def test_the_demo_page_works_over_https_through_the_proxy_trusting_the_test_ca(
    site: Path, tmp_path: Path
) -> None:
    chromium_or_skip()
    with running_https_stack(
        site,
        tmp_path,
        auth_env={"AUTH_ACCESS_TOKEN_TTL": str(TTL)},
        resource_env={"RESOURCE_LEEWAY": "0"},
    ) as edge:
        url = edge.proxy.demo_url
        # Without the CA, Chromium refuses the proxy: the trust below is what makes it work.
        with chromium(tmp_path / "untrusting") as untrusting:
            with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
                untrusting.new_page().goto(url)
        home = trusting_home(tmp_path / "home", edge.ca_file)
        with chromium(tmp_path / "profile", home=home) as context:
            page = open_page(context, url)
            register_and_sign_in(page)
            add_note(page, "over https")
            cookie = refresh_cookie(context)
            assert cookie is not None and cookie["secure"] and cookie["httpOnly"]
            before = requests_seen(edge.stack.auth.log_path, "/auth/refresh")

            wait_out_the_access_token()
            add_note(page, "after expiry, over https")
            page.reload()
            page.wait_for_selector("#notes li:has-text('after expiry, over https')")
            page.click("#logout")
            page.wait_for_selector("#signin:not([hidden])")

            # One refresh for the expired token, one for the reload.
            assert requests_seen(edge.stack.auth.log_path, "/auth/refresh") == before + 2
            assert refresh_cookie(context) is None
