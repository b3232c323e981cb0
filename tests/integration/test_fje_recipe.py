"""examples/fje_resource in process: the recipe's answers, and FJE's defaults beside them.

The e2e ring (tests/e2e/test_fje_recipe.py) runs the conformance kit against both over HTTP;
these are the quick checks of the recipe's own pieces: key choice, algorithm pin, typ, claims,
RFC 6750 answers and the outage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient

from examples.fje_resource.app import create_app
from examples.fje_resource.defaults import create_app as create_defaults_app

ISSUER, AUDIENCE, KID = "http://localhost:8001", "tokenpair-resource", "key-1"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class StaticJwks(jwt.PyJWKClient):
    """PyJWKClient over a key set held here (it fetches only over HTTP); ``None``: an outage."""

    def __init__(self, keys: list[dict[str, Any]] | None) -> None:
        super().__init__("http://127.0.0.1:9/jwks.json", cooldown_duration=5)
        self.keys = keys

    def fetch_data(self) -> Any:
        if self.keys is None:
            raise jwt.PyJWKClientConnectionError("Fail to fetch data from the url")
        return {"keys": self.keys}


def published(key: rsa.RSAPrivateKey = KEY, kid: str = KID) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "exp": now + 60, "iat": now,
              "nbf": now, "jti": "j-1", "scope": "notes:read", "client_id": "c"}  # fmt: skip
    return {name: value for name, value in {**values, **changes}.items() if value is not None}


def token(body: dict[str, Any] | None = None, **header: Any) -> str:
    headers = {"kid": KID, "typ": "at+jwt", **header}
    headers = {name: value for name, value in headers.items() if value is not None}
    return jwt.encode(claims() if body is None else body, KEY, algorithm="RS256", headers=headers)


def hs256_keyed_with_the_public_key() -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "HS256", "typ": "at+jwt", "kid": KID}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def client(keys: list[dict[str, Any]] | None = None, *, recipe: bool = True) -> FlaskClient:
    env = {"RESOURCE_JWKS_URL": "http://127.0.0.1:9/jwks.json"}
    jwks = StaticJwks([published()] if keys is None else keys)
    app = create_app(env, jwks=jwks) if recipe else create_defaults_app(env, jwks=jwks)
    return app.test_client()


def me(http: FlaskClient, authorization: str | None) -> Any:
    return http.get("/api/me", headers={"Authorization": authorization} if authorization else {})


def test_a_valid_token_is_accepted_and_its_claims_shown() -> None:
    answer = me(client(), f"Bearer {token()}")

    assert answer.status_code == 200, answer.text
    assert answer.json["sub"] == "user-1"
    assert answer.json["scope"] == "notes:read"


REFUSED = {
    "hs256-keyed-with-the-public-key": hs256_keyed_with_the_public_key,
    "typ-jwt": lambda: token(typ="JWT"),
    "no-typ": lambda: token(typ=None),
    "an-unknown-kid": lambda: token(kid="not-published"),
    "no-kid": lambda: token(kid=None),
    "a-foreign-key": lambda: jwt.encode(
        claims(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": KID, "typ": "at+jwt"},
    ),  # fmt: skip
    "wrong-issuer": lambda: token(claims(iss="https://evil.example")),
    "wrong-audience": lambda: token(claims(aud="another-api")),
    "missing-exp": lambda: token(claims(exp=None)),
    "missing-client-id": lambda: token(claims(client_id=None)),
    "exp-past-year-9999": lambda: token(claims(exp=10**30)),
    "not-yet-valid": lambda: token(claims(nbf=int(time.time()) + 600)),
    "garbage": lambda: "garbage",
}


@pytest.mark.parametrize("forge", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_token_gets_401_invalid_token_with_a_challenge(forge: Any) -> None:
    answer = me(client(), f"Bearer {forge()}")

    assert answer.status_code == 401, answer.text
    assert answer.json["error"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="tokenpair", error="invalid_token", '
        'error_description="The access token is invalid"'
    )


def test_an_expired_token_says_so_and_the_leeway_is_tokenpairs() -> None:
    now = int(time.time())
    expired = token(claims(iat=now - 120, nbf=now - 120, exp=now - 60))
    within_leeway = token(claims(iat=now - 120, nbf=now - 120, exp=now - 2))

    answer = me(client(), f"Bearer {expired}")

    assert answer.status_code == 401
    assert 'error_description="The access token expired"' in answer.headers["WWW-Authenticate"]
    assert me(client(), f"Bearer {within_leeway}").status_code == 200


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Bearer a,b"]
)
def test_a_malformed_header_gets_400_and_none_a_bare_challenge(authorization: str) -> None:
    malformed = me(client(), authorization)
    missing = me(client(), None)

    assert malformed.status_code == 400
    assert malformed.json["error"] == "invalid_request"
    assert malformed.headers["WWW-Authenticate"].startswith(
        'Bearer realm="tokenpair", error="invalid_request"'
    )
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="tokenpair"'


def test_a_missing_scope_gets_403_insufficient_scope() -> None:
    answer = client().post(
        "/api/notes", json={"text": "x"}, headers={"Authorization": f"Bearer {token()}"}
    )

    assert answer.status_code == 403
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="tokenpair", error="insufficient_scope", scope="notes:write"'
    )


def test_a_jwks_with_an_hmac_key_under_the_kid_verifies_nothing() -> None:
    key = b"an HMAC secret of thirty-two bytes"
    k = base64.urlsafe_b64encode(key).rstrip(b"=").decode()
    secret = {"kty": "oct", "k": k, "kid": KID, "use": "sig", "alg": "HS256"}
    hmac_token = jwt.encode(claims(), key, algorithm="HS256", headers={"kid": KID, "typ": "at+jwt"})

    answer = me(client([secret]), f"Bearer {hmac_token}")

    assert answer.status_code == 401


def test_an_unreachable_jwks_gets_503_with_retry_after_never_401() -> None:
    http = create_app({"RESOURCE_JWKS_URL": "unused"}, jwks=StaticJwks(None)).test_client()

    answer = me(http, f"Bearer {token()}")

    assert answer.status_code == 503
    assert answer.json["error"] == "temporarily_unavailable"
    assert answer.headers["Retry-After"] == "5"


def test_under_fjes_defaults_the_hs256_forgery_is_a_500_and_typ_jwt_is_accepted() -> None:
    defaults = client(recipe=False)

    assert me(defaults, f"Bearer {hs256_keyed_with_the_public_key()}").status_code == 500
    assert me(defaults, f"Bearer {token(typ='JWT')}").status_code == 200
    garbage = me(defaults, "Bearer garbage")
    assert garbage.status_code == 422
    assert "WWW-Authenticate" not in garbage.headers


def test_the_example_pins_flask_jwt_extended_as_the_test_extra_does() -> None:
    root = Path(__file__).resolve().parents[2]
    pin = re.compile(r"flask-jwt-extended[<>=!~][^\s\"#]*", re.IGNORECASE)
    requirements = pin.findall((root / "examples/fje_resource/requirements.txt").read_text())
    test_extra = pin.findall((root / "pyproject.toml").read_text())

    assert requirements == test_extra == ["flask-jwt-extended>=4.7,<5"]


def test_the_recipe_decodes_with_asymmetric_algorithms_only_and_holds_no_secret() -> None:
    http = client()
    assert me(http, f"Bearer {token()}").status_code == 200  # FJE has read its settings now

    config = http.application.config
    assert config["JWT_DECODE_ALGORITHMS"] == ["RS256", "ES256", "EdDSA"]
    assert not any(name.startswith("HS") for name in config["JWT_DECODE_ALGORITHMS"])
    assert config["JWT_SECRET_KEY"] is None and config["SECRET_KEY"] is None
    # FJE's defaults, measured: JWT_ALGORITHM (HS256) appended to what the team configured.
    defaults = client(recipe=False)
    me(defaults, f"Bearer {token()}")
    assert defaults.application.config["JWT_DECODE_ALGORITHMS"] == ["RS256", "HS256"]
