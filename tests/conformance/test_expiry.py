"""What takes time: an access token running out, and the refresh reuse grace window closing.

The access-token lifetime is read from `expires_in`; the grace and the leeway are options
(`--grace`, `--leeway`). A check that would wait longer than `--max-wait` is skipped with the
reason, so a deployment with 5-minute tokens is checked without waiting 5 minutes.
"""

from __future__ import annotations

import time

import pytest

from tests.conformance.deployment import Deployment, bearer, refresh, sign_up

# In the e2e ring: tokens and a grace window short enough to outwait.
RING_SETTINGS = (
    {"AUTH_ACCESS_TOKEN_TTL": "2", "AUTH_REFRESH_REUSE_GRACE": "1"},
    {"RESOURCE_LEEWAY": "0"},
)
POLL_INTERVAL = 0.2
SLACK = 10.0  # generous: the checks poll, this only bounds a deployment that never expires


@pytest.mark.resource_server
def test_a_session_continues_past_access_token_expiry_by_refreshing(
    deployment: Deployment,
) -> None:
    tokens = sign_up(deployment)
    lifetime = tokens["expires_in"] + deployment.leeway
    deployment.wait_allowed(lifetime, "an access token's lifetime plus the leeway")
    me = f"{deployment.resource_url}/api/me"
    assert deployment.get(me, headers=bearer(tokens["access_token"])).status_code == 200

    deadline = time.monotonic() + lifetime + SLACK
    while (answer := deployment.get(me, headers=bearer(tokens["access_token"]))).ok:
        assert time.monotonic() < deadline, "the access token never expired"
        time.sleep(POLL_INTERVAL)

    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge
    assert 'error_description="The access token expired"' in challenge
    renewed = refresh(deployment, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert deployment.get(me, headers=bearer(renewed.json()["access_token"])).status_code == 200


def test_reusing_a_rotated_token_after_the_grace_window_revokes_the_session(
    deployment: Deployment,
) -> None:
    deployment.wait_allowed(deployment.grace, "the refresh reuse grace window")
    tokens = sign_up(deployment)
    rotated = refresh(deployment, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()["refresh_token"]

    time.sleep(deployment.grace + 0.5)  # the point of the check: let the grace window pass
    reuse = refresh(deployment, tokens["refresh_token"])

    assert reuse.status_code == 401
    assert reuse.json()["error"] == "invalid_grant"
    after_theft = refresh(deployment, newest)
    assert after_theft.status_code == 401
    assert after_theft.json()["error"] == "invalid_grant"
