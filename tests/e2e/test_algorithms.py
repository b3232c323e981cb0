"""AUTH_SIGNING_ALG: RS256, ES256 and EdDSA each carry the whole token lifecycle end to end."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
import requests

from auth_service.keystore import RELOAD_INTERVAL_SECONDS
from tests.e2e.harness import HTTP_TIMEOUT, bearer, make_stack, refresh, sign_up


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_each_signing_algorithm_carries_the_lifecycle(alg: str, site: Path, tmp_path: Path) -> None:
    stack = make_stack(
        site,
        tmp_path / "work",
        auth_env={"AUTH_SIGNING_ALG": alg, "AUTH_ACCESS_TOKEN_TTL": "2"},
        resource_env={"RESOURCE_LEEWAY": "0"},
    )
    try:
        jwks = requests.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)
        assert [key["alg"] for key in jwks.json()["keys"]] == [alg]
        tokens = sign_up(stack)
        assert jwt.get_unverified_header(tokens["access_token"])["alg"] == alg
        me = f"{stack.resource.url}/api/me"
        assert requests.get(me, headers=bearer(tokens["access_token"]), timeout=10).ok

        deadline = time.monotonic() + 10
        while (answer := requests.get(me, headers=bearer(tokens["access_token"]), timeout=10)).ok:
            assert time.monotonic() < deadline, "the access token never expired"
            time.sleep(0.2)
        assert "The access token expired" in answer.headers["WWW-Authenticate"]

        renewed = refresh(stack, tokens["refresh_token"])
        assert renewed.ok
        assert requests.get(me, headers=bearer(renewed.json()["access_token"]), timeout=10).ok
    finally:
        stack.stop()


def test_rotating_to_another_algorithm_keeps_both_verifying(site: Path, tmp_path: Path) -> None:
    stack = make_stack(site, tmp_path / "work", auth_env={"AUTH_SIGNING_ALG": "RS256"})
    try:
        old = sign_up(stack)["access_token"]
        stack.auth.env["AUTH_SIGNING_ALG"] = "EdDSA"
        stack.auth.flask("keys", "rotate", "--now")
        time.sleep(RELOAD_INTERVAL_SECONDS + 0.5)
        new = sign_up(stack)["access_token"]
        assert jwt.get_unverified_header(new)["alg"] == "EdDSA"
        me = f"{stack.resource.url}/api/me"
        for token in (old, new):
            assert requests.get(me, headers=bearer(token), timeout=HTTP_TIMEOUT).ok
        # The resource service accepts exactly the algorithms the published keys declare.
        forged = jwt.encode(
            jwt.decode(new, options={"verify_signature": False}),
            "an attacker-chosen secret of 32+ bytes",
            algorithm="HS256",
            headers={"typ": "at+jwt", "kid": jwt.get_unverified_header(new)["kid"]},
        )
        answer = requests.get(me, headers=bearer(forged), timeout=HTTP_TIMEOUT)
        assert answer.status_code == 401
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    finally:
        stack.stop()
