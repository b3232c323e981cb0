"""Forged and misused tokens over HTTP: each is refused with 401 invalid_token, never accepted.

The attack set is tests/conformance/forgeries.py: the black-box attacks need nothing but the
JWKS and a real token; the rest are signed with the issuer's real private key, so each carries
exactly one flaw (and a control token made the same way with no flaw is accepted): they run
where the kit has the key, in the e2e ring or given `--issuer-keys-dir`, and are skipped with
that reason otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.conformance.deployment import Deployment, bearer, sign_up
from tests.conformance.forgeries import ATTACKS, Forge, expired, make_forge


@pytest.fixture(scope="module")
def forge(deployment: Deployment) -> Forge:
    tokens = sign_up(deployment)
    jwks = deployment.get(f"{deployment.auth_url}/.well-known/jwks.json").json()
    return make_forge(tokens, jwks, deployment.keys_dir)


# The resource service's verdicts are the resource server's checks (`--resource-server-only`);
# the auth service checks access tokens too (sessions, logout-all), with its own key ring.
SERVICES = [pytest.param("resource", marks=pytest.mark.resource_server), "auth"]


def checked_url(deployment: Deployment, service: str) -> str:
    """The endpoint of *service* that takes an access token and changes nothing."""
    if service == "resource":
        return f"{deployment.resource_url}/api/me"
    return f"{deployment.auth_url}/auth/sessions"


@pytest.mark.resource_server
def test_a_token_forged_with_no_flaw_is_accepted_so_each_refusal_is_for_its_flaw(
    deployment: Deployment, forge: Forge
) -> None:
    answer = deployment.get(f"{deployment.resource_url}/api/me", headers=bearer(forge.sign()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == forge.claims["sub"]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_forged_or_misused_token_is_refused_with_invalid_token(
    deployment: Deployment, forge: Forge, attack: Callable[[Forge], str], service: str
) -> None:
    token = attack(forge)
    url = checked_url(deployment, service)

    answer = deployment.get(url, headers=bearer(token))

    assert answer.status_code == 401, f"{url}: {answer.status_code} {answer.text}"
    challenge = answer.headers.get("WWW-Authenticate", "(none)")
    assert challenge.startswith('Bearer realm="tokenpair", error="invalid_token"'), challenge
    assert answer.json()["error"] == "invalid_token"
    if attack is expired:  # RFC 6750 §3.1: the client may tell expiry from other refusals
        assert 'error_description="The access token expired"' in challenge, challenge


@pytest.mark.resource_server
def test_a_token_expired_less_than_the_leeway_ago_is_still_accepted(
    deployment: Deployment, forge: Forge
) -> None:
    # --leeway: the resource service's RESOURCE_LEEWAY; clocks a little apart must not turn
    # a fresh token away. (The auth service's own bearer endpoints allow none.)
    ago = int(deployment.leeway // 2)
    if ago < 1:
        pytest.skip(f"--leeway {deployment.leeway:g} s leaves no room to check the leeway")
    now = int(time.time())
    token = forge.sign(forge.with_claims(iat=now - 120, nbf=now - 120, exp=now - ago))

    answer = deployment.get(f"{deployment.resource_url}/api/me", headers=bearer(token))

    assert answer.status_code == 200, f"expired {ago} s ago: {answer.status_code} {answer.text}"
