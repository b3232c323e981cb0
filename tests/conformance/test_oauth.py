"""The OAuth 2.0 interface seen from outside: metadata, and the endpoints' refusals."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from tests.conformance.deployment import Deployment, sign_up

UNKNOWN_CLIENT = "conformance-kit-unknown-client"


@pytest.fixture(scope="module")
def metadata(deployment: Deployment) -> dict[str, Any]:
    """The RFC 8414 document of the auth service."""
    answer = deployment.get(f"{deployment.auth_url}/.well-known/oauth-authorization-server")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def _issuer_of(access_token: str) -> str:
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["iss"])


def test_metadata_lists_every_member_the_contract_names(
    deployment: Deployment, metadata: dict[str, Any]
) -> None:
    for member in (
        "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint",
        "introspection_endpoint", "response_types_supported", "grant_types_supported",
        "code_challenge_methods_supported", "token_endpoint_auth_methods_supported",
        "scopes_supported",
    ):  # fmt: skip
        assert member in metadata, member
    assert metadata["issuer"] == _issuer_of(sign_up(deployment)["access_token"])
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    grants = set(metadata["grant_types_supported"])
    assert {"authorization_code", "refresh_token", "client_credentials"} <= grants
    assert "password" not in grants


def _token(deployment: Deployment, metadata: dict[str, Any], **kwargs: Any) -> requests.Response:
    return deployment.post(metadata["token_endpoint"], **kwargs)


def test_token_endpoint_refuses_a_json_body(
    deployment: Deployment, metadata: dict[str, Any]
) -> None:
    answer = _token(
        deployment, metadata, json={"grant_type": "client_credentials", "client_id": UNKNOWN_CLIENT}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"


def test_token_endpoint_refuses_an_unknown_client_with_basic_challenge(
    deployment: Deployment, metadata: dict[str, Any]
) -> None:
    answer = _token(
        deployment, metadata, data={"grant_type": "client_credentials"},
        auth=(UNKNOWN_CLIENT, "not-a-secret"),
    )  # fmt: skip
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_authorization_endpoint_answers_an_unknown_client_with_an_html_page(
    deployment: Deployment, metadata: dict[str, Any]
) -> None:
    answer = deployment.get(
        metadata["authorization_endpoint"],
        params={
            "response_type": "code", "client_id": UNKNOWN_CLIENT,
            "redirect_uri": "https://attacker.example/callback", "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )  # fmt: skip
    assert 400 <= answer.status_code < 500, answer.status_code
    assert "Location" not in answer.headers
    assert answer.headers.get("Content-Type", "").startswith("text/html")
    assert "no-store" in answer.headers.get("Cache-Control", "")
    assert answer.headers.get("X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in answer.headers.get("Content-Security-Policy", "")


def test_revocation_by_an_unknown_client_is_refused(
    deployment: Deployment, metadata: dict[str, Any]
) -> None:
    answer = deployment.post(
        metadata["revocation_endpoint"],
        data={"token": "not-a-token"},
        auth=(UNKNOWN_CLIENT, "not-a-secret"),
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_client"
