"""JwksKeySource and its store: the last good set outlives a worker and rides out an outage."""

from __future__ import annotations

import logging

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from resource_service.keysource import (
    DEFAULT_JWKS_MAX_AGE,
    DEFAULT_MAX_STALE,
    MAX_JWKS_MAX_AGE,
    MIN_REFETCH_INTERVAL,
    FetchedKeySet,
    JwksKeySource,
)
from shared.bearer import AccessTokenVerifier, KeysUnavailable
from shared.keys import PublicKey, jwks_document, parse_jwks, public_key
from tests.unit.fakes import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    FakeIssuer,
    MemoryKeySetStore,
    Mint,
    MonotonicClock,
    jwks_response,
)

DOWN = requests.ConnectionError("connection refused")


@pytest.fixture
def clock() -> MonotonicClock:
    return MonotonicClock()


@pytest.fixture
def new_key(ec_private_key: ec.EllipticCurvePrivateKey) -> PublicKey:
    return public_key(ec_private_key.public_key())


@pytest.fixture
def issuer(rsa_public: PublicKey) -> FakeIssuer:
    return FakeIssuer(rsa_public)


@pytest.fixture
def store() -> MemoryKeySetStore:
    return MemoryKeySetStore()


class Workers:
    """Key sources of separate processes (workers, or a restarted service) sharing one store."""

    def __init__(self, issuer: FakeIssuer, clock: MonotonicClock, store: MemoryKeySetStore) -> None:
        self.issuer, self.clock, self.store = issuer, clock, store

    def start(self, max_stale: float = DEFAULT_MAX_STALE) -> JwksKeySource:
        return JwksKeySource(
            JWKS_URL, clock=self.clock, fetch=self.issuer, store=self.store, max_stale=max_stale
        )


@pytest.fixture
def workers(issuer: FakeIssuer, clock: MonotonicClock, store: MemoryKeySetStore) -> Workers:
    return Workers(issuer, clock, store)


# What is saved ------------------------------------------------------------------------------


def test_a_fetched_set_is_saved_with_when_it_was_fetched_and_its_max_age(
    workers: Workers, issuer: FakeIssuer, store: MemoryKeySetStore, rsa_public: PublicKey
) -> None:
    issuer.cache_control = "max-age=120"

    workers.start().key_for(rsa_public.kid)

    saved = store.sets[JWKS_URL]
    assert (saved.fetched_at, saved.max_age) == (workers.clock.now, 120)
    assert list(parse_jwks(saved.document)) == [rsa_public.kid]


def test_only_the_keys_as_parsed_are_saved_not_the_bytes_the_issuer_sent(
    clock: MonotonicClock, store: MemoryKeySetStore, rsa_public: PublicKey
) -> None:
    served = jwks_document([rsa_public])
    served["keys"][0]["x-extra"] = "ignored by the parser"
    served["issuer-notes"] = "not a key"
    source = JwksKeySource(
        JWKS_URL, clock=clock, fetch=lambda url: jwks_response(served), store=store
    )

    source.key_for(rsa_public.kid)

    assert store.sets[JWKS_URL].document == jwks_document([rsa_public])


@pytest.mark.parametrize(
    "failure",
    [
        DOWN,
        requests.Timeout("read timed out"),
        jwks_response({"error": "down"}, status=503),
        jwks_response(b"<html>maintenance</html>"),
        jwks_response({"keys": [{"kty": "oct", "kid": "x", "k": "c2VjcmV0"}]}),
    ],
    ids=["connection-refused", "timeout", "http-503", "not-json", "symmetric-key"],
)
def test_a_failed_or_refused_fetch_saves_nothing(
    workers: Workers,
    issuer: FakeIssuer,
    store: MemoryKeySetStore,
    rsa_public: PublicKey,
    failure: Exception | requests.Response,
) -> None:
    issuer.failure = failure

    with pytest.raises(KeysUnavailable):
        workers.start().key_for(rsa_public.kid)

    assert store.sets == {} and store.saves == 0


def test_the_stored_set_is_only_a_fallback_a_reachable_issuer_always_wins(
    workers: Workers,
    issuer: FakeIssuer,
    store: MemoryKeySetStore,
    rsa_public: PublicKey,
    new_key: PublicKey,
) -> None:
    workers.start().key_for(rsa_public.kid)
    issuer.keys = [new_key]  # the old key was retired (say, after a compromise)

    restarted = workers.start()

    assert restarted.key_for(rsa_public.kid) is None
    assert restarted.key_for(new_key.kid) is not None
    assert list(parse_jwks(store.sets[JWKS_URL].document)) == [new_key.kid]


# Another worker, or a restart, while the issuer is down ---------------------------------------


def test_a_worker_that_never_fetched_verifies_with_the_set_another_worker_saved(
    workers: Workers, issuer: FakeIssuer, rsa_public: PublicKey, mint: Mint
) -> None:
    first, second = workers.start(), workers.start()
    first.key_for(rsa_public.kid)
    issuer.failure = DOWN

    verifier = AccessTokenVerifier(second, issuer=ISSUER, audience=AUDIENCE)

    assert verifier.verify(mint()).sub == "user-1"
    assert len(issuer.fetched) == 2  # the second worker did try the issuer first


def test_a_service_restarted_while_the_issuer_is_down_verifies_with_the_stored_set(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    workers.start().key_for(rsa_public.kid)
    issuer.failure = DOWN
    clock.advance(DEFAULT_JWKS_MAX_AGE * 3)  # the restart comes long after the last fetch

    restarted = workers.start()

    restarted.ready()
    assert restarted.key_for(rsa_public.kid) == rsa_public


def test_a_worker_holding_an_older_set_takes_the_newer_stored_one_when_its_fetch_fails(
    workers: Workers,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    rsa_public: PublicKey,
    new_key: PublicKey,
) -> None:
    old = workers.start()
    old.key_for(rsa_public.kid)
    clock.advance(DEFAULT_JWKS_MAX_AGE)
    issuer.keys.append(new_key)  # published, then fetched and saved by another worker
    workers.start().key_for(new_key.kid)
    issuer.failure = DOWN
    clock.advance(DEFAULT_JWKS_MAX_AGE)

    assert old.key_for(new_key.kid) == new_key


def test_a_stored_set_older_than_the_worker_set_does_not_replace_it(
    workers: Workers,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    store: MemoryKeySetStore,
    rsa_public: PublicKey,
    new_key: PublicKey,
) -> None:
    source = workers.start()
    source.key_for(rsa_public.kid)
    store.sets[JWKS_URL] = FetchedKeySet(
        jwks_document([new_key]), clock.now - 1, DEFAULT_JWKS_MAX_AGE
    )
    issuer.failure = DOWN
    clock.advance(DEFAULT_JWKS_MAX_AGE)

    assert source.key_for(rsa_public.kid) == rsa_public


@pytest.mark.parametrize(
    "document",
    [
        {"keys": []},
        {"keys": [{"kty": "oct", "kid": "x", "k": "c2VjcmV0"}]},
        {"keys": [{"kty": "RSA", "kid": "x", "alg": "none", "n": "AQAB", "e": "AQAB"}]},
        ["not", "a", "key", "set"],
    ],
    ids=["empty", "symmetric-key", "alg-none", "not-an-object"],
)
def test_a_stored_set_that_does_not_parse_is_ignored_and_said_so(
    workers: Workers,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    store: MemoryKeySetStore,
    caplog: pytest.LogCaptureFixture,
    document: object,
) -> None:
    store.sets[JWKS_URL] = FetchedKeySet(document, clock.now, DEFAULT_JWKS_MAX_AGE)
    issuer.failure = DOWN

    with caplog.at_level(logging.WARNING), pytest.raises(KeysUnavailable):
        workers.start().key_for("x")

    assert "ignored the stored key set" in caplog.text


def test_only_the_set_of_the_configured_url_is_read(
    issuer: FakeIssuer,
    clock: MonotonicClock,
    store: MemoryKeySetStore,
    rsa_public: PublicKey,
) -> None:
    store.sets["https://elsewhere.example/jwks.json"] = FetchedKeySet(
        jwks_document([rsa_public]), clock.now, DEFAULT_JWKS_MAX_AGE
    )
    issuer.failure = DOWN
    source = JwksKeySource(JWKS_URL, clock=clock, fetch=issuer, store=store)

    with pytest.raises(KeysUnavailable):
        source.key_for(rsa_public.kid)


# How long a stale set is honoured -----------------------------------------------------------


def test_a_stale_set_verifies_known_kids_until_it_is_max_stale_old(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source = workers.start(max_stale=3600)
    source.key_for(rsa_public.kid)
    issuer.failure = DOWN

    clock.advance(3600 - 1)
    assert source.key_for(rsa_public.kid) == rsa_public

    clock.advance(1)
    with pytest.raises(KeysUnavailable):
        source.key_for(rsa_public.kid)
    with pytest.raises(KeysUnavailable):
        source.ready()


def test_a_stored_set_too_old_is_not_honoured_by_a_restarted_worker(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    workers.start().key_for(rsa_public.kid)
    issuer.failure = DOWN
    clock.advance(DEFAULT_MAX_STALE)

    with pytest.raises(KeysUnavailable):
        workers.start().key_for(rsa_public.kid)


def test_with_max_stale_zero_a_set_is_honoured_only_while_fresh(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source = workers.start(max_stale=0)
    source.key_for(rsa_public.kid)
    issuer.failure = DOWN

    clock.advance(DEFAULT_JWKS_MAX_AGE - 1)
    assert source.key_for(rsa_public.kid) == rsa_public
    clock.advance(1)
    with pytest.raises(KeysUnavailable):
        source.key_for(rsa_public.kid)


def test_a_stored_max_age_beyond_the_ceiling_is_clamped_on_read(
    workers: Workers,
    issuer: FakeIssuer,
    clock: MonotonicClock,
    store: MemoryKeySetStore,
    rsa_public: PublicKey,
) -> None:
    store.sets[JWKS_URL] = FetchedKeySet(jwks_document([rsa_public]), clock.now, 10.0**12)
    issuer.failure = DOWN
    clock.advance(MAX_JWKS_MAX_AGE)

    # Stale by the ceiling, so a kid the set lacks cannot be called unknown.
    with pytest.raises(KeysUnavailable):
        workers.start().key_for("not-published")


# Unknown kids while the issuer is down ------------------------------------------------------


def test_a_kid_a_fresh_set_lacks_is_unknown_even_while_the_issuer_is_down(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source = workers.start()
    source.key_for(rsa_public.kid)
    issuer.failure = DOWN
    clock.advance(MIN_REFETCH_INTERVAL)

    # Fresh: every key that may sign was published a max-age before it signs, so it is here.
    assert source.key_for("not-published") is None


def test_a_kid_a_stale_set_lacks_is_unavailable_while_the_issuer_is_down(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source = workers.start()
    source.key_for(rsa_public.kid)
    issuer.failure = DOWN
    clock.advance(DEFAULT_JWKS_MAX_AGE)

    # Maybe a key published since the last fetch, maybe forged: it cannot be told, so no 401.
    with pytest.raises(KeysUnavailable):
        source.key_for("rotated-in-during-the-outage")
    assert source.key_for(rsa_public.kid) == rsa_public


def test_once_the_issuer_answers_again_a_kid_it_does_not_publish_is_unknown_again(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    source = workers.start()
    source.key_for(rsa_public.kid)
    issuer.failure = DOWN
    clock.advance(DEFAULT_JWKS_MAX_AGE)
    with pytest.raises(KeysUnavailable):
        source.key_for("forged")

    issuer.failure = None
    clock.advance(MIN_REFETCH_INTERVAL)

    assert source.key_for("forged") is None


def test_once_the_issuer_answers_again_a_service_that_had_no_key_recovers(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    issuer.failure = DOWN
    source = workers.start()
    with pytest.raises(KeysUnavailable):
        source.ready()

    issuer.failure = None
    clock.advance(MIN_REFETCH_INTERVAL)

    source.ready()
    assert source.key_for(rsa_public.kid) == rsa_public


def test_a_worker_waiting_out_its_refetch_interval_takes_the_set_another_worker_fetched(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock, rsa_public: PublicKey
) -> None:
    issuer.failure = DOWN
    waiting, other = workers.start(), workers.start()
    with pytest.raises(KeysUnavailable):
        waiting.ready()  # its fetch failed: it may not fetch again for MIN_REFETCH_INTERVAL
    issuer.failure = None
    clock.advance(1)

    other.ready()  # the issuer is back; this worker fetched and saved the set

    assert waiting.key_for(rsa_public.kid) == rsa_public
    assert len(issuer.fetched) == 2  # the waiting worker read the store, not the issuer


# Retry-After --------------------------------------------------------------------------------


def test_retry_after_counts_down_to_the_next_fetch_attempt(
    workers: Workers, issuer: FakeIssuer, clock: MonotonicClock
) -> None:
    issuer.failure = DOWN
    source = workers.start()
    waits = []
    for _ in range(3):
        with pytest.raises(KeysUnavailable) as raised:
            source.key_for("any")
        waits.append(raised.value.retry_after)
        clock.advance(2)

    assert waits == [5, 3, 1]
    assert len(issuer.fetched) == 1
