"""The auth service's published keys and its health endpoints."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from flask.testing import FlaskClient

from auth_service.keystore import KeyStore
from tests.integration.conftest import AuthActions, assert_error
from tests.support import FakeClock

# RFC 7518 §6.3.2 (RSA) and §6.2.2 (EC), §6.4 (symmetric): never in a public key set.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_the_jwks_lists_every_key_with_kid_use_and_alg(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.get_json()["keys"]
    assert len(keys) == 1
    for key in keys:
        assert key["kid"]
        assert key["use"] == "sig"
        assert key["alg"] == "RS256"
        assert key["kty"] == "RSA"


def test_the_jwks_holds_no_private_key_material(client: FlaskClient) -> None:
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]

    for key in keys:
        assert PRIVATE_MEMBERS.isdisjoint(key), sorted(key)


def test_the_jwks_may_be_cached_by_verifiers(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.cache_control.public
    assert response.cache_control.max_age == 300


def test_access_tokens_name_a_published_kid_and_verify_with_it(
    auth: AuthActions, client: FlaskClient
) -> None:
    token = auth.tokens()["access_token"]
    published = {key["kid"]: key for key in client.get("/.well-known/jwks.json").get_json()["keys"]}

    kid = jwt.get_unverified_header(token)["kid"]

    assert kid in published
    claims = jwt.decode(
        token,
        jwt.PyJWK(published[kid]).key,
        algorithms=["RS256"],
        audience="tokenpair-resource",
        issuer="http://localhost:8001",
    )
    assert claims["scope"] == "notes:read notes:write"


def test_healthz_answers_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_answers_ok_when_store_and_signing_key_work(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"store": "ok", "signing_key": "ok"},
    }


class TestWithoutASigningKey:
    """An auth service whose AUTH_KEYS_DIR holds no usable key is alive but not ready."""

    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
        empty = tmp_path / "no-keys"
        empty.mkdir(mode=0o700)
        return {**auth_env, "AUTH_KEYS_DIR": str(empty)}

    def test_readyz_is_503_naming_the_signing_key(self, client: FlaskClient) -> None:
        response = client.get("/readyz")

        assert response.status_code == 503
        assert response.get_json()["checks"] == {"store": "ok", "signing_key": "unavailable"}

    def test_healthz_still_answers_ok(self, client: FlaskClient) -> None:
        assert client.get("/healthz").status_code == 200

    def test_the_jwks_is_an_empty_key_set(self, client: FlaskClient) -> None:
        response = client.get("/.well-known/jwks.json")

        assert response.status_code == 200
        assert response.get_json() == {"keys": []}

    def test_login_is_503_temporarily_unavailable(self, auth: AuthActions) -> None:
        response = auth.login(auth.register())

        assert_error(response, 503, "temporarily_unavailable")

    def test_readyz_is_503_while_the_only_key_is_not_active_yet(
        self, client: FlaskClient, auth_env: dict[str, str], clock: FakeClock
    ) -> None:
        KeyStore(auth_env["AUTH_KEYS_DIR"]).create(
            "RS256", clock(), activates_at=clock() + timedelta(minutes=10)
        )

        assert client.get("/readyz").status_code == 503
        clock.advance(600)
        assert client.get("/readyz").status_code == 200


class TestWithAMissingKeysDirectory:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
        return {**auth_env, "AUTH_KEYS_DIR": str(tmp_path / "does" / "not" / "exist")}

    def test_readyz_is_503(self, client: FlaskClient) -> None:
        assert client.get("/readyz").status_code == 503
