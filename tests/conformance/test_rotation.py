"""Refresh-token rotation across the deployment's workers: races and honest retries."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conformance.deployment import Deployment, refresh, sign_up

CONCURRENT_REFRESHES = 32


def test_concurrent_refreshes_of_one_token_all_get_the_same_new_token(
    deployment: Deployment,
) -> None:
    tokens = sign_up(deployment)
    start = threading.Barrier(CONCURRENT_REFRESHES)

    def refresh_when_all_are_ready(_: int) -> requests.Response:
        start.wait(timeout=10)
        return refresh(deployment, tokens["refresh_token"])

    with ThreadPoolExecutor(max_workers=CONCURRENT_REFRESHES) as pool:
        answers = list(pool.map(refresh_when_all_are_ready, range(CONCURRENT_REFRESHES)))

    assert [answer.status_code for answer in answers] == [200] * CONCURRENT_REFRESHES, [
        answer.text for answer in answers if answer.status_code != 200
    ]
    new_tokens = {answer.json()["refresh_token"] for answer in answers}
    assert len(new_tokens) == 1
    (new_token,) = new_tokens
    assert new_token != tokens["refresh_token"]

    following = refresh(deployment, new_token)
    assert following.status_code == 200, following.text
    assert following.json()["refresh_token"] not in (new_token, tokens["refresh_token"])


def test_a_retry_inside_the_grace_window_gets_the_same_refresh_token(
    deployment: Deployment,
) -> None:
    tokens = sign_up(deployment)

    first = refresh(deployment, tokens["refresh_token"])
    retry = refresh(deployment, tokens["refresh_token"])

    assert first.status_code == retry.status_code == 200, (first.text, retry.text)
    assert retry.json()["refresh_token"] == first.json()["refresh_token"]
    assert retry.headers["Cache-Control"] == "no-store"
    assert refresh(deployment, first.json()["refresh_token"]).status_code == 200
