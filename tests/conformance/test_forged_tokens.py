"""Forged and misused tokens over HTTP: each is refused with 401 invalid_token, never accepted.

The attack set is tests/conformance/forgeries.py: the black-box attacks need nothing but the
JWKS and a real token; the rest are signed with the issuer's real private key, so they run
where the kit has the key, in the e2e ring, and are skipped with that reason against a
deployment given by URL.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conformance.deployment import Deployment, bearer, sign_up
from tests.conformance.forgeries import ATTACKS, Forge, make_forge


@pytest.fixture(scope="module")
def forge(deployment: Deployment) -> Forge:
    jwks = deployment.get(f"{deployment.auth_url}/.well-known/jwks.json").json()
    return make_forge(sign_up(deployment), jwks, deployment.keys_dir)


def test_a_token_forged_with_no_flaw_is_accepted_so_each_refusal_is_for_its_flaw(
    deployment: Deployment, forge: Forge
) -> None:
    answer = deployment.get(f"{deployment.resource_url}/api/me", headers=bearer(forge.sign()))
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == forge.claims["sub"]


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_forged_or_misused_token_is_refused_with_invalid_token(
    deployment: Deployment, forge: Forge, attack: Callable[[Forge], str]
) -> None:
    token = attack(forge)
    # The auth service checks access tokens too (sessions, logout-all), with its own key ring.
    for url in (f"{deployment.resource_url}/api/me", f"{deployment.auth_url}/auth/sessions"):
        answer = deployment.get(url, headers=bearer(token))
        assert answer.status_code == 401, f"{url}: {answer.status_code} {answer.text}"
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="tokenpair", error="invalid_token"'), challenge
        assert answer.json()["error"] == "invalid_token"
