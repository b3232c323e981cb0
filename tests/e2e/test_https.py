"""The stack behind the real reverse proxy, over TLS with certificate verification on."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from tests.conformance.source_address import client_from, require_loopback_address
from tests.e2e.harness import HTTP_TIMEOUT, bearer
from tests.e2e.proxy import CADDYFILE, HttpsStack, caddy_binary, running_https_stack
from tests.support import STRONG_PASSWORD, random_name

LOGIN_MAX_FAILURES = 5  # AUTH_LOGIN_MAX_FAILURES: the default, per (username, client address)


@pytest.fixture(scope="module")
def edge(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsStack]:
    with running_https_stack(site, tmp_path_factory.mktemp("https")) as running:
        yield running


def call(edge: HttpsStack, method: str, url: str, **kwargs: object) -> requests.Response:
    """Send one request through the proxy, verifying its certificate against the test CA."""
    return requests.request(method, url, verify=edge.ca_file, timeout=HTTP_TIMEOUT, **kwargs)  # type: ignore[arg-type]


def test_the_token_lifecycle_runs_over_verified_tls(edge: HttpsStack) -> None:
    auth, resource = edge.proxy.auth_url, edge.proxy.resource_url
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    assert call(edge, "POST", f"{auth}/auth/register", json=credentials).status_code == 201
    login = call(edge, "POST", f"{auth}/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    tokens = login.json()

    me = call(edge, "GET", f"{resource}/api/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["sub"]

    refreshed = call(
        edge, "POST", f"{auth}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    new_refresh = refreshed.json()["refresh_token"]
    assert new_refresh != tokens["refresh_token"]
    me = call(edge, "GET", f"{resource}/api/me", headers=bearer(refreshed.json()["access_token"]))
    assert me.status_code == 200

    logout = call(edge, "POST", f"{auth}/auth/logout", json={"refresh_token": new_refresh})
    assert logout.status_code == 204
    after = call(edge, "POST", f"{auth}/auth/refresh", json={"refresh_token": new_refresh})
    assert after.status_code == 401


def test_tokens_name_the_https_origin_as_their_issuer(edge: HttpsStack) -> None:
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    call(edge, "POST", f"{edge.proxy.auth_url}/auth/register", json=credentials)
    login = call(edge, "POST", f"{edge.proxy.auth_url}/auth/login", json=credentials).json()
    me = call(
        edge, "GET", f"{edge.proxy.resource_url}/api/me", headers=bearer(login["access_token"])
    )

    claims = jwt.decode(login["access_token"], options={"verify_signature": False})
    assert claims["iss"] == edge.proxy.auth_url
    assert me.status_code == 200


def test_a_client_that_does_not_trust_the_ca_is_refused(edge: HttpsStack) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{edge.proxy.auth_url}/healthz", timeout=HTTP_TIMEOUT)


def test_the_proxy_ports_do_not_serve_plain_http(edge: HttpsStack) -> None:
    plain = edge.proxy.auth_url.replace("https://", "http://")
    answer = requests.get(f"{plain}/healthz", timeout=HTTP_TIMEOUT)
    assert answer.status_code == 400
    assert "ok" not in answer.text


@pytest.mark.parametrize(
    ("origin", "path", "status"),
    [
        ("auth", "/healthz", 200),
        ("auth", "/no-such-page", 404),
        ("auth", "/.well-known/jwks.json", 200),
        ("resource", "/api/me", 401),
        ("resource", "/metrics", 404),
    ],
)
def test_every_answer_has_hsts_and_nosniff_and_no_banner(
    edge: HttpsStack, origin: str, path: str, status: int
) -> None:
    base = edge.proxy.auth_url if origin == "auth" else edge.proxy.resource_url
    answer = call(edge, "GET", f"{base}{path}")
    assert answer.status_code == status
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(answer.headers["Strict-Transport-Security"].split("=")[1]) >= 31536000
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in answer.headers
    assert "Via" not in answer.headers


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics?format=text"])
def test_metrics_are_not_reachable_through_the_proxy(edge: HttpsStack, path: str) -> None:
    for base in (edge.proxy.auth_url, edge.proxy.resource_url):
        answer = call(edge, "GET", f"{base}{path}")
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"
    # The services still serve it to a scraper on the private network.
    direct = requests.get(f"{edge.stack.auth.url}/metrics", timeout=HTTP_TIMEOUT)
    assert direct.status_code == 200


def test_a_body_over_the_proxy_limit_is_refused_in_the_one_error_shape(edge: HttpsStack) -> None:
    answer = call(
        edge,
        "POST",
        f"{edge.proxy.resource_url}/api/notes",
        data=b"{" + b" " * (64 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert answer.json()["error"] == "invalid_request"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_the_auth_service_counts_each_client_by_the_address_the_proxy_saw(
    edge: HttpsStack,
) -> None:
    attacker_address, victim_address = "127.0.0.2", "127.0.0.3"
    for address in (attacker_address, victim_address):
        require_loopback_address(address)
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    auth = edge.proxy.auth_url
    assert call(edge, "POST", f"{auth}/auth/register", json=credentials).status_code == 201
    wrong = {**credentials, "password": "not the password at all"}

    with client_from(attacker_address) as attacker:
        # A new forged X-Forwarded-For each time: were it believed, no two failures would add up.
        answers = [
            attacker.post(
                f"{auth}/auth/login",
                json=wrong,
                headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
                verify=edge.ca_file,
                timeout=HTTP_TIMEOUT,
            ).status_code
            for attempt in range(LOGIN_MAX_FAILURES + 1)
        ]
    assert answers == [401] * LOGIN_MAX_FAILURES + [429]

    # The victim, from another address (even claiming to be the attacker), is not throttled: the
    # proxy replaced the header, and the auth service read the one hop it trusts. Were the header
    # ignored, both would be the proxy's own address and the victim would get 429 too.
    with client_from(victim_address) as victim:
        answer = victim.post(
            f"{auth}/auth/login",
            json=credentials,
            headers={"X-Forwarded-For": attacker_address},
            verify=edge.ca_file,
            timeout=HTTP_TIMEOUT,
        )
    assert answer.status_code == 200, answer.text


def test_the_compose_configuration_is_valid_caddy_with_its_own_ca(tmp_path: Path) -> None:
    """Compose sets no PROXY_* variable: the defaults must be a valid, internal-CA config."""
    caddy = caddy_binary()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    env["XDG_DATA_HOME"], env["XDG_CONFIG_HOME"] = str(tmp_path / "d"), str(tmp_path / "c")
    adapted = subprocess.run(
        [str(caddy), "adapt", "--config", str(CADDYFILE)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    config = json.loads(adapted.stdout)
    servers = config["apps"]["http"]["servers"].values()
    assert sorted(listen for server in servers for listen in server["listen"]) == [
        "0.0.0.0:8001",
        "0.0.0.0:8002",
        "0.0.0.0:8003",  # the demo page
    ]
    (policy,) = config["apps"]["tls"]["automation"]["policies"]
    assert policy == {"subjects": ["localhost"], "issuers": [{"module": "internal"}]}
    validated = subprocess.run(
        [str(caddy), "validate", "--config", str(CADDYFILE)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert validated.returncode == 0, validated.stderr[-2000:]


def test_a_service_that_is_down_is_answered_503_in_the_one_shape(
    site: Path, tmp_path: Path
) -> None:
    with running_https_stack(site, tmp_path) as edge:
        edge.stack.resource.stop()
        answer = call(edge, "GET", f"{edge.proxy.resource_url}/api/me")
        assert answer.status_code == 503
        assert answer.json()["error"] == "temporarily_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "Server" not in answer.headers
        # The other service behind the same proxy is unaffected.
        assert call(edge, "GET", f"{edge.proxy.auth_url}/healthz").status_code == 200
