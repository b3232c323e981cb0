"""Remembered tokens: skipped re-decoding, but every check that can change is made again."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared import bearer
from shared.bearer import AccessTokenVerifier, InvalidToken
from shared.keys import PublicKey, public_key
from tests.unit.fakes import AUDIENCE, ISSUER, Mint, StaticKeySource


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def remembering(key_source: StaticKeySource, clock: Clock) -> AccessTokenVerifier:
    return AccessTokenVerifier(key_source, issuer=ISSUER, audience=AUDIENCE, clock=clock)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the full decodes (signature checks) the verifier makes."""
    calls: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bearer.jwt, "decode", counting)
    return calls


def test_a_token_seen_before_is_not_decoded_again(
    remembering: AccessTokenVerifier, mint: Mint, decodes: list[str]
) -> None:
    token = mint()
    first, second = remembering.verify(token), remembering.verify(token)
    assert first == second
    assert len(decodes) == 1


def test_a_remembered_token_is_refused_once_it_expires(
    remembering: AccessTokenVerifier, mint: Mint, clock: Clock
) -> None:
    token = mint()
    expires_at = remembering.verify(token).expires_at
    clock.now = expires_at + 0.5
    with pytest.raises(InvalidToken) as refused:
        remembering.verify(token)
    assert refused.value.expired
    assert refused.value.description == "The access token expired"


def test_a_remembered_token_keeps_the_leeway_of_a_full_check(
    key_source: StaticKeySource, mint: Mint, clock: Clock
) -> None:
    verifier = AccessTokenVerifier(
        key_source, issuer=ISSUER, audience=AUDIENCE, leeway=5, clock=clock
    )
    token = mint()
    expires_at = verifier.verify(token).expires_at
    clock.now = expires_at + 4
    assert verifier.verify(token).expires_at == expires_at
    clock.now = expires_at + 5
    with pytest.raises(InvalidToken):
        verifier.verify(token)


def test_a_remembered_token_is_refused_when_its_key_is_retired(
    remembering: AccessTokenVerifier, mint: Mint, key_source: StaticKeySource
) -> None:
    token = mint()
    remembering.verify(token)
    key_source.keys.clear()
    with pytest.raises(InvalidToken) as refused:
        remembering.verify(token)
    assert refused.value.reason == "unknown_key"


def test_a_remembered_token_is_checked_again_when_its_kid_names_another_key(
    remembering: AccessTokenVerifier, mint: Mint, key_source: StaticKeySource, rsa_public: PublicKey
) -> None:
    token = mint()
    remembering.verify(token)
    impostor = public_key(rsa.generate_private_key(65537, 2048).public_key())
    key_source.keys[rsa_public.kid] = PublicKey(rsa_public.kid, "RS256", impostor.key)
    with pytest.raises(InvalidToken) as refused:
        remembering.verify(token)
    assert refused.value.reason == "signature"


def test_a_clock_set_back_before_nbf_makes_a_remembered_token_not_valid_yet(
    remembering: AccessTokenVerifier, mint: Mint, clock: Clock, decodes: list[str]
) -> None:
    token = mint()
    remembering.verify(token)
    clock.now -= 3600
    # Falls back to the full check, which uses the real clock and so accepts it again:
    # what matters is that the remembered answer was not trusted.
    remembering.verify(token)
    assert len(decodes) == 2


def test_only_valid_tokens_are_remembered(
    remembering: AccessTokenVerifier, mint: Mint, decodes: list[str]
) -> None:
    bad = mint(claims={"aud": "someone-else"})
    for _ in range(2):
        with pytest.raises(InvalidToken):
            remembering.verify(bad)
    assert len(decodes) == 2


def test_the_memory_is_bounded(key_source: StaticKeySource, mint: Mint, decodes: list[str]) -> None:
    verifier = AccessTokenVerifier(key_source, issuer=ISSUER, audience=AUDIENCE, cache_size=2)
    tokens = [mint() for _ in range(3)]
    for token in tokens:
        verifier.verify(token)
    verifier.verify(tokens[0])  # evicted by the third: decoded again
    assert len(decodes) == 4
