"""Public signing keys: JWK (de)serialisation, RFC 7638 thumbprints, PEM or JWKS parsing."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt import PyJWK, PyJWKError
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

# Only asymmetric algorithms: a verifier must never hold anything that could mint tokens.
SUPPORTED_ALGORITHMS = ("RS256", "ES256", "EdDSA")

# The members RFC 7638 §3.2 hashes, per key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}

PublicKeyType = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


class KeyFormatError(ValueError):
    """Key material that is not a usable public signing key."""


@dataclass(frozen=True)
class PublicKey:
    """A verification key: its id, the one algorithm it may verify, and the key object."""

    kid: str
    alg: str
    key: PublicKeyType

    def to_jwk(self) -> dict[str, Any]:
        """Return the RFC 7517 JWK with kid, use and alg."""
        return {**public_jwk(self.key), "kid": self.kid, "use": "sig", "alg": self.alg}


def algorithm_for(key: PublicKeyType) -> str:
    """Return the JWS algorithm a public key of this type signs with."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise KeyFormatError("RSA keys must have at least 2048 bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise KeyFormatError(f"unsupported key type {type(key).__name__}")


def public_jwk(key: PublicKeyType) -> dict[str, Any]:
    """Return the bare public JWK members of a key (no kid, use or alg)."""
    if isinstance(key, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(key, as_dict=True)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(key, as_dict=True)
    return OKPAlgorithm.to_jwk(key, as_dict=True)


def thumbprint(key: PublicKeyType) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of a public key, base64url without padding."""
    jwk = public_jwk(key)
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def public_key(key: PublicKeyType) -> PublicKey:
    """Wrap a public key object with its thumbprint kid and algorithm."""
    return PublicKey(kid=thumbprint(key), alg=algorithm_for(key), key=key)


def jwks_document(keys: list[PublicKey]) -> dict[str, Any]:
    """Return an RFC 7517 JWK Set of the given keys."""
    return {"keys": [key.to_jwk() for key in keys]}


def parse_key_set(text: str | bytes) -> dict[str, PublicKey]:
    """Parse a PEM public key or a JWKS JSON document into keys by kid."""
    data = text.encode() if isinstance(text, str) else text
    if data.lstrip().startswith(b"-----BEGIN"):
        return _parse_pem(data)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise KeyFormatError("neither a PEM public key nor a JWKS JSON document") from None
    return parse_jwks(document)


def _parse_pem(data: bytes) -> dict[str, PublicKey]:
    if b"PRIVATE KEY" in data:
        raise KeyFormatError("holds a private key; give the verifier the public key only")
    try:
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFormatError("not a PEM public key") from None
    if not isinstance(loaded, PublicKeyType):
        raise KeyFormatError(f"unsupported key type {type(loaded).__name__}")
    key = public_key(loaded)
    return {key.kid: key}


def parse_jwks(document: Any) -> dict[str, PublicKey]:
    """Parse an RFC 7517 JWK Set; every key needs a kid and an asymmetric signing algorithm."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeyFormatError('a JWKS document is a JSON object with a "keys" array')
    keys: dict[str, PublicKey] = {}
    for jwk in document["keys"]:
        key = _parse_jwk(jwk)
        keys[key.kid] = key
    if not keys:
        raise KeyFormatError("the JWKS document holds no keys")
    return keys


def _parse_jwk(jwk: Any) -> PublicKey:
    if not isinstance(jwk, dict):
        raise KeyFormatError("every JWKS entry must be a JSON object")
    kid, use, alg = jwk.get("kid"), jwk.get("use", "sig"), jwk.get("alg")
    if not isinstance(kid, str) or not kid:
        raise KeyFormatError("every JWKS key needs a kid")
    if use != "sig":
        raise KeyFormatError(f"key {kid}: use must be sig")
    if "d" in jwk or jwk.get("kty") == "oct":
        raise KeyFormatError(f"key {kid}: private or symmetric key material in a public key set")
    if alg is not None and alg not in SUPPORTED_ALGORITHMS:
        # Before PyJWK: it raises NotImplementedError for "none", not a PyJWT error.
        raise KeyFormatError(f"key {kid}: unsupported alg {alg}")
    try:
        parsed = PyJWK(jwk)
    except (PyJWKError, InvalidKeyError) as error:  # PyJWT raises both for bad members
        raise KeyFormatError(f"key {kid}: {error}") from None
    declared = algorithm_for(parsed.key)
    if alg is not None and alg != declared:
        raise KeyFormatError(f"key {kid}: alg {alg} does not match its key type ({declared})")
    return PublicKey(kid=kid, alg=declared, key=parsed.key)
