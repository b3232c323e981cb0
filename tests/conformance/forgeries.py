"""The JWT attack set: forged and misused access tokens, each with exactly one flaw.

The black-box attacks need nothing but the JWKS and a real token. The rest are signed with the
issuer's real private key (a control token made the same way with no flaw is accepted): they
run where the key is at hand, and are skipped with that reason where it is not. Used by the
conformance kit against the bearer endpoints (test_forged_tokens.py) and against the
introspection endpoint in the integration and e2e rings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

NO_KEY = "needs the issuer's private key, which only the rings that run the issuer have"


@dataclass(frozen=True)
class Forge:
    """A real token's parts, and the keys an attacker might use to sign new ones."""

    kid: str
    claims: dict[str, Any]
    real_token: str
    refresh_token: str
    public_pem: bytes
    issuer_key: rsa.RSAPrivateKey | None

    def sign(
        self,
        claims: dict[str, Any] | None = None,
        *,
        headers: dict[str, Any] | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """Return an RS256 token of *claims* (default: the real ones); None drops a header."""
        header = {"alg": "RS256", "typ": "at+jwt", "kid": self.kid, **(headers or {})}
        signer = key or self.issuer_key
        if signer is None:
            pytest.skip(NO_KEY)
        return compact(
            {name: value for name, value in header.items() if value is not None},
            self.claims if claims is None else claims,
            lambda data: signer.sign(data, padding.PKCS1v15(), hashes.SHA256()),
        )

    def with_claims(self, **changes: Any) -> dict[str, Any]:
        """Return the real claims with some changed (None removes one)."""
        changed = {**self.claims, **changes}
        return {name: value for name, value in changed.items() if value is not None}


def make_forge(tokens: dict[str, Any], jwks: dict[str, Any], keys_dir: Path | None) -> Forge:
    """Return the Forge of a real token response, its JWKS and the issuer's key folder, if any.

    *keys_dir* holds the issuer's ``<kid>.pem`` private keys; without it, the attacks that
    need a real signature skip.
    """
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    (published,) = [key for key in jwks["keys"] if key["kid"] == kid]
    public_key = jwt.PyJWK(published).key  # RSA, EC or OKP: whatever the deployment signs with
    issuer_key = None
    if keys_dir is not None:
        key_file = keys_dir / f"{kid}.pem"
        issuer_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(issuer_key, rsa.RSAPrivateKey)
    return Forge(
        kid=kid,
        claims=jwt.decode(tokens["access_token"], options={"verify_signature": False}),
        real_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        public_pem=public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        issuer_key=issuer_key,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """Assemble a JWS by hand: PyJWT rightly refuses to make most of these forgeries."""
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def alg_none(forge: Forge) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": forge.kid}
    return compact(header, forge.claims, lambda _: b"")


def hs256_keyed_with_the_public_key(forge: Forge) -> str:
    # The classic algorithm confusion: a verifier that let the header pick HS256 would check
    # this HMAC with the public key, which everyone can download.
    header = {"alg": "HS256", "typ": "at+jwt", "kid": forge.kid}
    return compact(
        header, forge.claims, lambda data: hmac.new(forge.public_pem, data, hashlib.sha256).digest()
    )


def a_foreign_key_under_the_real_kid(forge: Forge) -> str:
    return forge.sign(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))


def tampered_claims(forge: Forge) -> str:
    header, _, signature = forge.real_token.split(".")
    claims = forge.with_claims(scope="notes:read notes:write admin", sub="someone-else")
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{signature}"


def expired(forge: Forge) -> str:
    now = int(time.time())
    return forge.sign(forge.with_claims(iat=now - 120, nbf=now - 120, exp=now - 60))


def not_yet_valid(forge: Forge) -> str:
    now = int(time.time())
    return forge.sign(forge.with_claims(nbf=now + 600, exp=now + 900))


ATTACKS: dict[str, Callable[[Forge], str]] = {
    "alg-none": alg_none,
    "hs256-keyed-with-the-public-key": hs256_keyed_with_the_public_key,
    "a-foreign-key-under-the-real-kid": a_foreign_key_under_the_real_kid,
    "tampered-claims": tampered_claims,
    "a-refresh-token": lambda forge: forge.refresh_token,
    "garbage": lambda forge: "garbage",
    "three-garbage-segments": lambda forge: "abc.def.ghi",
    # Signed with the issuer's key from here on (skipped without it).
    "an-unknown-kid": lambda forge: forge.sign(headers={"kid": "not-a-published-key"}),
    "no-kid": lambda forge: forge.sign(headers={"kid": None}),
    "wrong-issuer": lambda forge: forge.sign(forge.with_claims(iss="https://evil.example")),
    "wrong-audience": lambda forge: forge.sign(forge.with_claims(aud="some-other-api")),
    "missing-exp": lambda forge: forge.sign(forge.with_claims(exp=None)),
    "exp-past-year-9999": lambda forge: forge.sign(forge.with_claims(exp=10**30)),
    "missing-sub": lambda forge: forge.sign(forge.with_claims(sub=None)),
    "expired": expired,
    "not-yet-valid": not_yet_valid,
    "typ-jwt": lambda forge: forge.sign(headers={"typ": "JWT"}),
    "no-typ": lambda forge: forge.sign(headers={"typ": None}),
}
