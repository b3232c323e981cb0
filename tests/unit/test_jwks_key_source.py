"""JwksKeySource: lazy, cached for max-age, bounded re-fetches, and resilient to issuer outages."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from resource_service.keysource import (
    DEFAULT_JWKS_MAX_AGE,
    MAX_JWKS_MAX_AGE,
    MIN_REFETCH_INTERVAL,
    JwksKeySource,
)
from shared.bearer import AccessTokenVerifier, InvalidToken, KeysUnavailable
from shared.keys import PublicKey, public_key
from tests.unit.fakes import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    FakeIssuer,
    Mint,
    MonotonicClock,
    jwks_response,
)


@pytest.fixture
def clock() -> MonotonicClock:
    return MonotonicClock()


@pytest.fixture
def second_key(ec_private_key: ec.EllipticCurvePrivateKey) -> PublicKey:
    return public_key(ec_private_key.public_key())


@pytest.fixture
def third_key(ed25519_private_key: ed25519.Ed25519PrivateKey) -> PublicKey:
    return public_key(ed25519_private_key.public_key())


@pytest.fixture
def issuer(rsa_public: PublicKey) -> FakeIssuer:
    return FakeIssuer(rsa_public)


@pytest.fixture
def source(issuer: FakeIssuer, clock: MonotonicClock) -> JwksKeySource:
    return JwksKeySource(JWKS_URL, clock=clock, fetch=issuer)


# Fetching and caching -----------------------------------------------------------------------


def test_nothing_is_fetched_until_a_key_is_needed(issuer: FakeIssuer) -> None:
    JwksKeySource(JWKS_URL, clock=MonotonicClock(), fetch=issuer)

    assert issuer.fetched == []


def test_the_first_lookup_fetches_the_configured_url_once(
    source: JwksKeySource, issuer: FakeIssuer, rsa_public: PublicKey
) -> None:
    key = source.key_for(rsa_public.kid)

    assert key is not None
    assert (key.kid, key.alg) == (rsa_public.kid, "RS256")
    assert issuer.fetched == [JWKS_URL]


def test_lookups_within_the_default_max_age_are_served_from_the_cache(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)

    for _ in range(10):
        clock.advance((DEFAULT_JWKS_MAX_AGE - 1) / 10)
        assert source.key_for(rsa_public.kid) is not None

    assert len(issuer.fetched) == 1


def test_without_cache_control_the_set_is_refetched_after_the_default_max_age(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)

    clock.advance(DEFAULT_JWKS_MAX_AGE)
    source.key_for(rsa_public.kid)

    assert len(issuer.fetched) == 2


def test_the_cache_control_max_age_of_the_response_is_honoured(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    issuer.cache_control = "public, max-age=60"
    source.key_for(rsa_public.kid)

    clock.advance(59)
    source.key_for(rsa_public.kid)
    assert len(issuer.fetched) == 1

    clock.advance(1)
    source.key_for(rsa_public.kid)
    assert len(issuer.fetched) == 2


def test_a_long_max_age_is_honoured_up_to_the_ceiling(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    issuer.cache_control = "max-age=31536000"
    source.key_for(rsa_public.kid)

    clock.advance(MAX_JWKS_MAX_AGE - 1)
    source.key_for(rsa_public.kid)
    assert len(issuer.fetched) == 1

    clock.advance(1)
    source.key_for(rsa_public.kid)
    assert len(issuer.fetched) == 2


@pytest.mark.parametrize("cache_control", ["max-age=0", "no-store", "no-cache", "max-age=-1"])
def test_a_zero_or_no_store_max_age_still_fetches_at_most_once_per_interval(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    cache_control: str,
) -> None:
    issuer.cache_control = cache_control
    source.key_for(rsa_public.kid)

    clock.advance(MIN_REFETCH_INTERVAL - 0.1)
    assert source.key_for(rsa_public.kid) is not None
    assert len(issuer.fetched) == 1

    clock.advance(0.1)
    source.key_for(rsa_public.kid)
    assert len(issuer.fetched) == 2


@pytest.mark.parametrize("cache_control", ["max-age=soon", "max-age", "max-age=1e3"])
def test_an_unreadable_max_age_falls_back_to_the_default(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    cache_control: str,
) -> None:
    issuer.cache_control = cache_control
    source.key_for(rsa_public.kid)

    clock.advance(DEFAULT_JWKS_MAX_AGE - 1)
    source.key_for(rsa_public.kid)
    clock.advance(1)
    source.key_for(rsa_public.kid)

    assert len(issuer.fetched) == 2


# Unknown kids -------------------------------------------------------------------------------


def test_an_unknown_kid_refetches_and_finds_a_newly_published_key(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    second_key: PublicKey,
) -> None:
    source.key_for(rsa_public.kid)
    issuer.keys.append(second_key)  # the issuer rotated: a new key is published

    clock.advance(MIN_REFETCH_INTERVAL)
    key = source.key_for(second_key.kid)

    assert key is not None and key.alg == "ES256"
    assert len(issuer.fetched) == 2


def test_an_unknown_kid_refetches_at_most_once_per_interval(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)
    clock.advance(MIN_REFETCH_INTERVAL)

    # A burst of forged kids: the first may cost one fetch, the rest cost nothing.
    for attempt in range(50):
        assert source.key_for(f"forged-{attempt}") is None
        clock.advance(0.05)

    assert len(issuer.fetched) == 2


def test_an_unknown_kid_right_after_a_fetch_does_not_refetch(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)

    clock.advance(MIN_REFETCH_INTERVAL - 0.1)
    assert source.key_for("not-published") is None

    assert len(issuer.fetched) == 1


def test_unknown_kids_spread_over_time_cost_one_fetch_per_interval(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)

    for _ in range(4):
        clock.advance(MIN_REFETCH_INTERVAL)
        source.key_for("not-published")

    assert len(issuer.fetched) == 5


def test_a_known_kid_is_still_served_while_unknown_kids_are_throttled(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)
    source.key_for("not-published")

    assert source.key_for(rsa_public.kid) is not None
    assert len(issuer.fetched) == 1


# Changes and failures at the issuer ---------------------------------------------------------


def test_a_key_removed_from_the_jwks_is_dropped_after_the_next_refresh(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    second_key: PublicKey,
) -> None:
    issuer.keys.append(second_key)
    assert source.key_for(rsa_public.kid) is not None

    issuer.keys.remove(rsa_public)  # the issuer retired the old key
    clock.advance(DEFAULT_JWKS_MAX_AGE)

    assert source.key_for(rsa_public.kid) is None
    assert source.key_for(second_key.kid) is not None


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("connection refused"),
        requests.Timeout("read timed out"),
        jwks_response({"error": "down"}, status=503),
        jwks_response({"error": "missing"}, status=404),
        jwks_response(b"<html>maintenance</html>"),
        jwks_response({"keys": []}),
        jwks_response({"keys": [{"kty": "oct", "kid": "x", "k": "c2VjcmV0"}]}),
        jwks_response({"keys": [{"kty": "RSA", "kid": "x", "e": "AQAB"}]}),
        jwks_response({"keys": [{"kty": "RSA", "kid": "x", "alg": "none", "n": "AQAB"}]}),
    ],
    ids=[
        "connection-refused",
        "timeout",
        "http-503",
        "http-404",
        "not-json",
        "empty-set",
        "symmetric-key",
        "broken-rsa-key",
        "alg-none",
    ],
)
def test_a_failed_refresh_keeps_serving_the_cached_keys(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    failure: Exception | requests.Response,
) -> None:
    source.key_for(rsa_public.kid)
    issuer.failure = failure

    clock.advance(DEFAULT_JWKS_MAX_AGE)
    key = source.key_for(rsa_public.kid)

    assert key is not None and key.kid == rsa_public.kid
    assert len(issuer.fetched) == 2
    source.ready()


def test_during_an_outage_the_issuer_is_retried_at_most_once_per_interval(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)
    issuer.failure = requests.ConnectionError("down")
    clock.advance(DEFAULT_JWKS_MAX_AGE)

    for _ in range(20):
        assert source.key_for(rsa_public.kid) is not None
        clock.advance(1)

    assert len(issuer.fetched) == 1 + 4  # the first fetch, then one per 5 s over 20 s


def test_after_an_outage_the_next_refresh_picks_up_the_current_set(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    second_key: PublicKey,
) -> None:
    source.key_for(rsa_public.kid)
    issuer.failure = requests.ConnectionError("down")
    clock.advance(DEFAULT_JWKS_MAX_AGE)
    source.key_for(rsa_public.kid)

    issuer.failure = None
    issuer.keys = [second_key]
    clock.advance(MIN_REFETCH_INTERVAL)

    assert source.key_for(second_key.kid) is not None
    assert source.key_for(rsa_public.kid) is None


def test_with_the_issuer_unreachable_from_the_start_the_keys_are_unavailable_not_missing(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    issuer.failure = requests.ConnectionError("down")

    with pytest.raises(KeysUnavailable) as raised:
        source.key_for(rsa_public.kid)
    assert raised.value.retry_after == MIN_REFETCH_INTERVAL
    with pytest.raises(KeysUnavailable):
        source.ready()
    assert len(issuer.fetched) == 1  # ready() right after a failure does not hammer the issuer


def test_once_the_issuer_comes_up_the_keys_are_fetched_after_the_interval(
    source: JwksKeySource, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    issuer.failure = requests.ConnectionError("down")
    with pytest.raises(KeysUnavailable):
        source.key_for(rsa_public.kid)

    issuer.failure = None
    clock.advance(MIN_REFETCH_INTERVAL)

    assert source.key_for(rsa_public.kid) is not None


def test_ready_fetches_the_set_when_none_is_loaded(
    source: JwksKeySource, issuer: FakeIssuer
) -> None:
    source.ready()

    assert issuer.fetched == [JWKS_URL]


def test_ready_uses_the_loaded_set_without_fetching_again(
    source: JwksKeySource, issuer: FakeIssuer, rsa_public: PublicKey
) -> None:
    source.key_for(rsa_public.kid)

    source.ready()

    assert len(issuer.fetched) == 1


# Only the configured URL --------------------------------------------------------------------


def test_nothing_named_in_a_token_is_ever_fetched(
    source: JwksKeySource,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    mint: Mint,
    third_key: PublicKey,
) -> None:
    verifier = AccessTokenVerifier(source, issuer=ISSUER, audience=AUDIENCE)
    evil = "https://evil.example/jwks.json"
    headers = {
        "kid": third_key.kid,
        "jku": evil,
        "x5u": evil,
        "jwk": third_key.to_jwk(),
    }

    for _ in range(3):
        with pytest.raises(InvalidToken):
            verifier.verify(mint(headers=headers, claims={"iss": evil}))
        clock.advance(MIN_REFETCH_INTERVAL)

    assert issuer.fetched and set(issuer.fetched) == {JWKS_URL}


def test_a_token_verifies_against_keys_fetched_from_the_jwks(
    source: JwksKeySource, issuer: FakeIssuer, mint: Mint
) -> None:
    verifier = AccessTokenVerifier(source, issuer=ISSUER, audience=AUDIENCE)

    assert verifier.verify(mint()).sub == "user-1"
    assert verifier.verify(mint()).sub == "user-1"
    assert len(issuer.fetched) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"keys": [{"kty": "RSA", "kid": "x", "e": "AQAB"}]},
        {"keys": [{"kty": "RSA", "kid": "x", "alg": "none", "n": "AQAB", "e": "AQAB"}]},
        {"keys": [{"kty": "EC", "kid": "x", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]},
        {"keys": "none"},
    ],
    ids=["rsa-without-n", "alg-none", "ec-off-curve", "keys-not-a-list"],
)
def test_a_broken_jwks_makes_the_keys_unavailable_rather_than_raising_an_unexpected_error(
    clock: MonotonicClock, mint: Mint, body: Any
) -> None:
    source = JwksKeySource(JWKS_URL, clock=clock, fetch=lambda url: jwks_response(body))
    verifier = AccessTokenVerifier(source, issuer=ISSUER, audience=AUDIENCE)

    # The issuer serves no usable set: the token may well be good, so it is not called invalid.
    with pytest.raises(KeysUnavailable):
        verifier.verify(mint(headers={"kid": "x"}))
