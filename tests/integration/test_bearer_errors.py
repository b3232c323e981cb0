"""RFC 6750 §3 answers, status, header and body together, on both services' protected endpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask.testing import FlaskClient

from auth_service.keystore import KeyStore, SigningKey
from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of
from tests.support import FakeClock

NO_CREDENTIALS = 'Bearer realm="tokenpair"'
MALFORMED_PREFIX = 'Bearer realm="tokenpair", error="invalid_request", error_description="'
INVALID_PREFIX = 'Bearer realm="tokenpair", error="invalid_token", error_description="'
EXPIRED = (
    'Bearer realm="tokenpair", error="invalid_token", error_description="The access token expired"'
)
INSUFFICIENT_WRITE = 'Bearer realm="tokenpair", error="insufficient_scope", scope="notes:write"'

RESOURCE_ENDPOINTS = [
    ("GET", "/api/me"),
    ("GET", "/api/notes"),
    ("POST", "/api/notes"),
    ("GET", "/api/notes/0123456789abcdef0123456789abcdef"),
    ("DELETE", "/api/notes/0123456789abcdef0123456789abcdef"),
]
AUTH_ENDPOINTS = [
    ("POST", "/auth/logout-all"),
    ("GET", "/auth/sessions"),
    ("DELETE", "/auth/sessions/0123456789abcdef0123456789abcdef"),
]

MALFORMED_HEADERS = [
    "",
    "   ",
    "Bearer",
    "Bearer ",
    "Bearertoken",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Token abc",
    "Bearer a b",
    "Bearer a,b",
    "Bearer tok=en",
    "Bearer ééé",
    "Bearer abc, Bearer def",
]


def call(client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {"text": "a note"} if method == "POST" else None
    return client.open(path, method=method, json=body, headers=headers)


@pytest.fixture
def protected(api: FlaskClient, client: FlaskClient) -> list[tuple[FlaskClient, str, str]]:
    """Every endpoint that needs an access token, on both services."""
    return [(api, method, path) for method, path in RESOURCE_ENDPOINTS] + [
        (client, method, path) for method, path in AUTH_ENDPOINTS
    ]


# The table of RFC 6750 §3 ---------------------------------------------------------------------


def test_no_credentials_is_401_with_a_bare_challenge(
    protected: list[tuple[FlaskClient, str, str]],
) -> None:
    for client, method, path in protected:
        response = call(client, method, path, {})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == NO_CREDENTIALS, (method, path)
        assert_error(response, 401)


def test_a_malformed_authorization_header_is_400_invalid_request(
    protected: list[tuple[FlaskClient, str, str]],
) -> None:
    for client, method, path in protected:
        for header in MALFORMED_HEADERS:
            response = call(client, method, path, {"Authorization": header})
            assert response.status_code == 400, (method, path, header)
            assert response.headers["WWW-Authenticate"].startswith(MALFORMED_PREFIX), header
            assert_error(response, 400, "invalid_request")


def test_an_expired_access_token_is_401_saying_it_expired(
    auth: AuthActions, clock: FakeClock, protected: list[tuple[FlaskClient, str, str]]
) -> None:
    clock.advance(-1000)  # minted 1000 s ago, it expired 700 s ago
    expired = auth.tokens()["access_token"]
    clock.advance(1000)

    for client, method, path in protected:
        response = call(client, method, path, bearer(expired))
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == EXPIRED
        assert assert_error(response, 401, "invalid_token")["error_description"] == (
            "The access token expired"
        )


def test_a_refresh_token_is_never_accepted_as_an_access_token(
    auth: AuthActions, protected: list[tuple[FlaskClient, str, str]]
) -> None:
    refresh_token = auth.tokens()["refresh_token"]

    for client, method, path in protected:
        response = call(client, method, path, bearer(refresh_token))
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith(INVALID_PREFIX)
        assert_error(response, 401, "invalid_token")


def test_a_garbage_token_is_401_invalid_token(api: FlaskClient) -> None:
    for token in ["garbage", "a.b.c", "a.b", "a.b.c.d.e", "eyJ.eyJ.sig", "x" * 5000]:
        response = api.get("/api/me", headers=bearer(token))
        assert response.status_code == 401, token
        assert_error(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"].startswith(INVALID_PREFIX)


def test_a_token_without_the_needed_scope_is_403_naming_the_scope(
    auth: AuthActions, api: FlaskClient
) -> None:
    reader = bearer(auth.tokens(scope="notes:read")["access_token"])

    for method, path in [("POST", "/api/notes"), ("DELETE", RESOURCE_ENDPOINTS[-1][1])]:
        response = call(api, method, path, reader)
        assert response.status_code == 403, (method, path)
        assert response.headers["WWW-Authenticate"] == INSUFFICIENT_WRITE
        assert_error(response, 403, "insufficient_scope")


def test_the_bearer_scheme_is_case_insensitive(
    auth: AuthActions, api: FlaskClient, client: FlaskClient
) -> None:
    token = auth.tokens()["access_token"]

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR", "Bearer  "]:
        assert api.get("/api/me", headers=bearer(token, scheme)).status_code == 200, scheme
        assert client.get("/auth/sessions", headers=bearer(token, scheme)).status_code == 200


def test_whitespace_around_the_authorization_header_is_tolerated(
    auth: AuthActions, api: FlaskClient
) -> None:
    token = auth.tokens()["access_token"]

    assert api.get("/api/me", headers={"Authorization": f"  Bearer {token}  "}).status_code == 200


# Forged and tampered tokens -------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """Return header.payload. of a JWS, for a test to sign (or not) by hand."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


@pytest.fixture
def signing_key(keys_dir: Path) -> SigningKey:
    """The auth service's real private key: tokens signed with it differ in one thing only."""
    return KeyStore(keys_dir).load()[0]


@pytest.fixture
def good_claims(clock: FakeClock, auth: AuthActions) -> dict[str, Any]:
    # A real user's live session: the auth service's own endpoints also check the session.
    issued = claims_of(auth.tokens()["access_token"])
    now = int(clock().timestamp())
    return {
        "iss": "http://localhost:8001",
        "sub": issued["sub"],
        "sid": issued["sid"],
        "aud": "tokenpair-resource",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "scope": "notes:read notes:write",
        "client_id": issued["client_id"],
    }


def sign_by_hand(key: SigningKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """Return an RS256 JWS with exactly *header* (PyJWT would add members of its own)."""
    signing_input = unsigned(header, claims)
    assert isinstance(key.private_key, rsa.RSAPrivateKey)
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def changed(
    members: dict[str, Any], changes: dict[str, Any], relative_to: int = 0
) -> dict[str, Any]:
    """Return *members* with *changes*: None deletes, "+60"/"-600" are seconds from relative_to."""
    result = dict(members)
    for name, value in changes.items():
        if value is None:
            result.pop(name)
        elif isinstance(value, str) and value[:1] in ("+", "-"):
            result[name] = relative_to + int(value)
        else:
            result[name] = value
    return result


def sign(key: SigningKey, claims: dict[str, Any]) -> str:
    """Return an access token with *claims*, signed the way the auth service signs."""
    return sign_by_hand(key, {"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims)


def test_a_token_forged_exactly_like_the_issuers_is_accepted(
    api: FlaskClient, client: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    # The control for the tests below: each breaks one thing of this token.
    token = sign(signing_key, good_claims)

    assert api.get("/api/me", headers=bearer(token)).status_code == 200
    assert client.get("/auth/sessions", headers=bearer(token)).status_code == 200


FORGERIES = {
    "wrong issuer": ({"iss": "https://evil.example"}, {}, "unexpected issuer"),
    "wrong audience": ({"aud": "someone-else"}, {}, "not meant for this audience"),
    "not yet valid": ({"nbf": "+60"}, {}, "not valid yet"),
    "expired long ago": ({"exp": "-600"}, {}, "expired"),
    "without jti": ({"jti": None}, {}, "lacks the jti claim"),
    "without scope": ({"scope": None}, {}, "lacks the scope claim"),
    "without sub": ({"sub": None}, {}, "lacks the sub claim"),
    "without client_id": ({"client_id": None}, {}, "lacks the client_id claim"),
    "typ JWT": ({}, {"typ": "JWT"}, "not an access token"),
    "without typ": ({}, {"typ": None}, "not an access token"),
    "unknown kid": ({}, {"kid": "not-a-published-kid"}, "unknown key"),
    "without kid": ({}, {"kid": None}, "names no signing key"),
    "numeric kid": ({}, {"kid": 7}, "malformed"),
}


def test_a_token_with_one_thing_wrong_is_401_invalid_token_saying_what(
    api: FlaskClient, client: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    for case, (claim_changes, header_changes, reason) in FORGERIES.items():
        claims = changed(good_claims, claim_changes, relative_to=good_claims["iat"])
        header = changed({"alg": "RS256", "typ": "at+jwt", "kid": signing_key.kid}, header_changes)
        token = sign_by_hand(signing_key, header, claims)

        for service, path in [(api, "/api/me"), (client, "/auth/sessions")]:
            response = service.get(path, headers=bearer(token))
            body = assert_error(response, 401, "invalid_token")
            assert reason in body["error_description"], (case, path, body)
            assert response.headers["WWW-Authenticate"] == (
                f'{INVALID_PREFIX}{body["error_description"]}"'
            )


def test_a_token_with_a_tampered_payload_is_refused(
    api: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    header, _, signature = sign(signing_key, {**good_claims, "scope": "notes:read"}).split(".")
    tampered = f"{header}.{b64(json.dumps(good_claims).encode())}.{signature}"

    body = assert_error(api.get("/api/me", headers=bearer(tampered)), 401, "invalid_token")
    assert "signature" in body["error_description"]


def test_a_token_signed_by_another_key_under_the_real_kid_is_refused(
    api: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        good_claims,
        impostor,
        algorithm="RS256",
        headers={"typ": "at+jwt", "kid": signing_key.kid},
    )

    body = assert_error(api.get("/api/me", headers=bearer(token)), 401, "invalid_token")
    assert "signature" in body["error_description"]


def test_an_unsigned_alg_none_token_is_refused(
    api: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    token = unsigned({"alg": "none", "typ": "at+jwt", "kid": signing_key.kid}, good_claims) + "."

    assert_error(api.get("/api/me", headers=bearer(token)), 401, "invalid_token")


def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    api: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    # The classic algorithm-confusion attack: the public key used as an HMAC secret.
    public_pem = signing_key.public.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned({"alg": "HS256", "typ": "at+jwt", "kid": signing_key.kid}, good_claims)
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    response = api.get("/api/me", headers=bearer(f"{signing_input}.{b64(mac)}"))

    body = assert_error(response, 401, "invalid_token")
    assert "RS256" in body["error_description"]


def test_an_rs512_token_from_the_right_key_is_refused(
    api: FlaskClient, signing_key: SigningKey, good_claims: dict[str, Any]
) -> None:
    token = jwt.encode(
        good_claims,
        signing_key.private_key,
        algorithm="RS512",
        headers={"typ": "at+jwt", "kid": signing_key.kid},
    )

    assert_error(api.get("/api/me", headers=bearer(token)), 401, "invalid_token")
