"""Token minting: refresh-token secrets, their rotation, and the access tokens the issuer signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.types import Options

from auth_service.keystore import PrivateKey, SigningKey
from auth_service.tokens import (
    AccessTokenIssuer,
    child_token,
    new_refresh_token,
    new_rotation_nonce,
    token_hash,
)
from shared import access_token
from shared.access_token import REQUIRED_CLAIMS
from shared.bearer import AccessTokenVerifier
from shared.keys import public_key
from tests.unit.fakes import AUDIENCE, ISSUER, StaticKeySource

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
BASE64URL_256_BITS = re.compile(r"[A-Za-z0-9_-]{43}")
NO_TIME_CHECKS: Options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}


class StubKeyRing:
    """The one KeyRing method the issuer uses, over a key held in memory."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.asked_at: list[datetime] = []

    def signing_key(self, now: datetime) -> SigningKey:
        self.asked_at.append(now)
        return self.key


def signing_key(private_key: PrivateKey) -> SigningKey:
    created = NOW - timedelta(days=1)
    return SigningKey(private_key, public_key(private_key.public_key()), created, created)


def make_issuer(private_key: PrivateKey, ttl: int = 300) -> tuple[AccessTokenIssuer, StubKeyRing]:
    ring = StubKeyRing(signing_key(private_key))
    issuer = AccessTokenIssuer(
        ring,  # type: ignore[arg-type]  # duck-typed: only signing_key() is used
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl=timedelta(seconds=ttl),
    )
    return issuer, ring


@pytest.fixture
def issuer_and_ring(rsa_private_key: rsa.RSAPrivateKey) -> tuple[AccessTokenIssuer, StubKeyRing]:
    return make_issuer(rsa_private_key)


# Refresh tokens -----------------------------------------------------------------------------


def test_a_new_refresh_token_is_256_random_bits_in_base64url() -> None:
    tokens = {new_refresh_token() for _ in range(100)}

    assert len(tokens) == 100
    assert all(BASE64URL_256_BITS.fullmatch(token) for token in tokens)


def test_a_rotation_nonce_is_128_random_bits_in_hex() -> None:
    nonces = {new_rotation_nonce() for _ in range(100)}

    assert len(nonces) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}", nonce) for nonce in nonces)


def test_the_child_of_a_token_is_the_same_for_the_same_parent_and_nonce() -> None:
    parent, nonce = new_refresh_token(), new_rotation_nonce()

    assert child_token(parent, nonce) == child_token(parent, nonce)


def test_a_different_nonce_gives_a_different_child() -> None:
    parent = new_refresh_token()

    assert child_token(parent, new_rotation_nonce()) != child_token(parent, new_rotation_nonce())


def test_a_different_parent_gives_a_different_child() -> None:
    nonce = new_rotation_nonce()

    assert child_token(new_refresh_token(), nonce) != child_token(new_refresh_token(), nonce)


def test_a_child_is_the_hmac_sha256_of_the_nonce_keyed_by_the_parent() -> None:
    parent, nonce = "parent-token", "00112233445566778899aabbccddeeff"
    digest = hmac.new(b"parent-token", nonce.encode(), hashlib.sha256).digest()

    assert child_token(parent, nonce) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_child_looks_like_any_other_refresh_token() -> None:
    child = child_token(new_refresh_token(), new_rotation_nonce())

    assert BASE64URL_256_BITS.fullmatch(child)


def test_a_child_cannot_be_derived_from_what_the_database_stores() -> None:
    # The store holds token_hash(parent) and the nonce; with those alone the child stays unknown.
    parent, nonce = new_refresh_token(), new_rotation_nonce()
    stored_hash = token_hash(parent)

    child = child_token(parent, nonce)

    assert child_token(stored_hash, nonce) != child
    assert stored_hash not in (child, parent)
    assert token_hash(child) != stored_hash


def test_a_child_is_not_its_parent_and_does_not_predict_its_own_child() -> None:
    parent = new_refresh_token()
    child = child_token(parent, new_rotation_nonce())
    grandchild = child_token(child, new_rotation_nonce())

    assert len({parent, child, grandchild}) == 3


def test_the_token_hash_is_the_sha256_hex_digest() -> None:
    assert token_hash("abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_the_token_hash_is_64_lowercase_hex_characters_and_differs_per_token() -> None:
    first, second = token_hash(new_refresh_token()), token_hash(new_refresh_token())

    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert first != second


# Access tokens ------------------------------------------------------------------------------


def test_an_access_token_header_has_the_access_token_type_and_the_signing_kid(
    issuer_and_ring: tuple[AccessTokenIssuer, StubKeyRing],
) -> None:
    issuer, ring = issuer_and_ring

    token = issuer.issue(
        subject="user-1", scope="notes:read", client_id="c-1", session_id="s-1", now=NOW
    )

    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "typ": "at+jwt",
        "kid": ring.key.kid,
    }


def test_an_access_token_carries_every_claim_of_the_contract(
    issuer_and_ring: tuple[AccessTokenIssuer, StubKeyRing],
) -> None:
    issuer, ring = issuer_and_ring

    token = issuer.issue(
        subject="4f2a", scope="notes:read notes:write", client_id="c-1", session_id="s-1", now=NOW
    )
    claims = jwt.decode(
        token,
        ring.key.public.key,
        algorithms=["RS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options=NO_TIME_CHECKS,
    )

    issued_at = int(NOW.timestamp())
    assert claims == {
        "iss": ISSUER,
        "sub": "4f2a",
        "aud": AUDIENCE,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + 300,
        "jti": claims["jti"],
        "scope": "notes:read notes:write",
        "sid": "s-1",
        "client_id": "c-1",
    }
    assert isinstance(claims["sub"], str)
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])


def test_the_lifetime_of_an_access_token_is_the_issuers_ttl(
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    issuer, ring = make_issuer(rsa_private_key, ttl=42)

    token = issuer.issue(subject="u", scope="notes:read", client_id="c-1", session_id="s", now=NOW)
    claims = jwt.decode(
        token, ring.key.public.key, algorithms=["RS256"], audience=AUDIENCE, options=NO_TIME_CHECKS
    )

    assert claims["exp"] - claims["iat"] == 42
    assert issuer.ttl == timedelta(seconds=42)


def test_the_issuer_signs_with_the_key_the_ring_names_for_that_instant(
    issuer_and_ring: tuple[AccessTokenIssuer, StubKeyRing],
) -> None:
    issuer, ring = issuer_and_ring

    issuer.issue(subject="u", scope="notes:read", client_id="c-1", session_id="s", now=NOW)

    assert ring.asked_at == [NOW]


def test_every_access_token_has_its_own_jti(
    issuer_and_ring: tuple[AccessTokenIssuer, StubKeyRing],
) -> None:
    issuer, _ = issuer_and_ring

    tokens = [
        issuer.issue(subject="u", scope="notes:read", client_id="c-1", session_id="s", now=NOW)
        for _ in range(5)
    ]

    assert len({jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}) == 5


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_a_freshly_issued_token_passes_the_verifier_for_every_key_type(
    kind: str,
    private_keys: dict[str, PrivateKey],
) -> None:
    private = private_keys[kind]
    issuer, ring = make_issuer(private)
    verifier = AccessTokenVerifier(
        StaticKeySource(ring.key.public), issuer=ISSUER, audience=AUDIENCE
    )

    now = datetime.fromtimestamp(int(time.time()), UTC)
    token = issuer.issue(
        subject="user-9", scope="notes:read", client_id="c-1", session_id="s-9", now=now
    )
    verified = verifier.verify(token)

    assert jwt.get_unverified_header(token)["alg"] == ring.key.alg
    assert (verified.sub, verified.scope, verified.sid) == ("user-9", "notes:read", "s-9")


def test_the_issuer_sets_every_claim_the_shared_profile_requires(
    issuer_and_ring: tuple[AccessTokenIssuer, StubKeyRing],
) -> None:
    issuer, _ = issuer_and_ring

    token = issuer.issue(subject="u", scope="notes:read", client_id="c", session_id="s", now=NOW)

    assert set(REQUIRED_CLAIMS) <= set(jwt.decode(token, options={"verify_signature": False}))
    assert jwt.get_unverified_header(token)["typ"] == access_token.TYPE


def test_a_token_without_a_session_carries_no_sid(
    issuer_and_ring: tuple[AccessTokenIssuer, StubKeyRing],
) -> None:
    issuer, _ = issuer_and_ring

    token = issuer.issue(subject="c", scope="notes:read", client_id="c", session_id=None, now=NOW)

    assert "sid" not in jwt.decode(token, options={"verify_signature": False})
