"""Unit fixtures: keys made in memory, an in-memory key source, and a token minter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from auth_service.keystore import PrivateKey
from shared.bearer import AccessTokenVerifier
from shared.keys import PublicKey, public_key
from tests.unit.fakes import AUDIENCE, ISSUER, Mint, StaticKeySource, access_claims


@pytest.fixture(scope="session")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def foreign_rsa_private_key() -> rsa.RSAPrivateKey:
    """A well-formed RSA key the verifier has never been told about."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def ed25519_private_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def private_keys(
    rsa_private_key: rsa.RSAPrivateKey,
    ec_private_key: ec.EllipticCurvePrivateKey,
    ed25519_private_key: ed25519.Ed25519PrivateKey,
) -> dict[str, PrivateKey]:
    """One signing key of each supported type, by a short name usable as a test id."""
    return {"rsa": rsa_private_key, "ec": ec_private_key, "ed25519": ed25519_private_key}


@pytest.fixture(scope="session")
def rsa_public(rsa_private_key: rsa.RSAPrivateKey) -> PublicKey:
    return public_key(rsa_private_key.public_key())


@pytest.fixture
def key_source(rsa_public: PublicKey) -> StaticKeySource:
    return StaticKeySource(rsa_public)


@pytest.fixture
def verifier(key_source: StaticKeySource) -> AccessTokenVerifier:
    return AccessTokenVerifier(key_source, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def mint(rsa_private_key: rsa.RSAPrivateKey, rsa_public: PublicKey) -> Mint:
    """Return a function that signs an access token, valid unless told otherwise.

    ``claims`` and ``headers`` override the defaults, ``drop`` / ``drop_headers`` remove
    members, and ``key`` / ``alg`` sign with something other than the trusted RSA key.
    """

    def _mint(
        *,
        claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        drop: Iterable[str] = (),
        drop_headers: Iterable[str] = (),
        key: Any = None,
        alg: str = "RS256",
    ) -> str:
        payload = access_claims(**(claims or {}))
        for name in drop:
            del payload[name]
        header: dict[str, Any] = {"typ": "at+jwt", "kid": rsa_public.kid, **(headers or {})}
        for name in drop_headers:
            del header[name]
        if "typ" in drop_headers:
            header["typ"] = None  # PyJWT adds typ "JWT" when absent and omits a falsy one
        signing_key = rsa_private_key if key is None else key
        return jwt.encode(payload, signing_key, algorithm=alg, headers=header)

    return _mint
