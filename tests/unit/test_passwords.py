"""Password hashing: argon2id, no oracle for unknown users, and upgrades of old parameters."""

from __future__ import annotations

import threading
from typing import Literal

import pytest
from argon2 import PasswordHasher

from auth_service.passwords import Passwords

PASSWORD = "correct horse battery staple"


def cheap_hasher(time_cost: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=1024, parallelism=1)


class CountingHasher(PasswordHasher):
    """A cheap hasher that counts verifications, to see that every path pays for one."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifications += 1
        return super().verify(hash, password)


class GatedHasher(PasswordHasher):
    """A cheap hasher whose verifications wait inside until released, counting how many are in."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.entered = threading.Semaphore(0)
        self.open = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.entered.release()
        try:
            assert self.open.wait(timeout=30), "never released"
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.inside -= 1


@pytest.fixture
def passwords() -> Passwords:
    return Passwords(cheap_hasher())


def test_a_password_hash_is_argon2id_and_never_the_password(passwords: Passwords) -> None:
    stored = passwords.hash(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_hashing_the_same_password_twice_gives_different_salted_hashes(
    passwords: Passwords,
) -> None:
    assert passwords.hash(PASSWORD) != passwords.hash(PASSWORD)


def test_the_right_password_verifies(passwords: Passwords) -> None:
    assert passwords.verify(passwords.hash(PASSWORD), PASSWORD) is True


@pytest.mark.parametrize(
    "attempt", ["wrong password", "", PASSWORD.upper(), PASSWORD + " ", PASSWORD[:-1]]
)
def test_a_wrong_password_does_not_verify(passwords: Passwords, attempt: str) -> None:
    assert passwords.verify(passwords.hash(PASSWORD), attempt) is False


@pytest.mark.parametrize("stored", [None, ""])
def test_an_unknown_user_never_verifies(passwords: Passwords, stored: str | None) -> None:
    assert passwords.verify(stored, PASSWORD) is False


def test_an_unknown_user_costs_one_verification_like_a_wrong_password() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    stored = passwords.hash(PASSWORD)

    passwords.verify(stored, "wrong password")
    passwords.verify(None, PASSWORD)
    passwords.verify(None, "anything else")

    assert hasher.verifications == 3


@pytest.mark.parametrize(
    "stored", ["not a hash", "$argon2id$v=19$m=1024,t=1,p=1$garbage", "$2b$12$" + "a" * 53]
)
def test_a_corrupt_or_foreign_stored_hash_does_not_verify(
    passwords: Passwords, stored: str
) -> None:
    assert passwords.verify(stored, PASSWORD) is False


def test_a_hash_made_with_todays_parameters_needs_no_rehash(passwords: Passwords) -> None:
    assert passwords.needs_rehash(passwords.hash(PASSWORD)) is False


def test_a_hash_made_with_weaker_parameters_needs_a_rehash_but_still_verifies() -> None:
    old = Passwords(cheap_hasher(time_cost=1)).hash(PASSWORD)
    today = Passwords(cheap_hasher(time_cost=2))

    assert today.needs_rehash(old) is True
    assert today.verify(old, PASSWORD) is True


def test_no_more_verifications_run_at_once_than_the_slots_and_the_rest_wait_their_turn() -> None:
    hasher = GatedHasher()
    passwords = Passwords(hasher, concurrency=2)
    stored = Passwords(cheap_hasher()).hash(PASSWORD)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(passwords.verify(stored, PASSWORD)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()

    assert hasher.entered.acquire(timeout=30) and hasher.entered.acquire(timeout=30)
    with hasher.lock:
        assert hasher.inside == 2  # both slots taken; four threads wait outside the hasher
    hasher.open.set()
    for thread in threads:
        thread.join(timeout=30)

    assert results == [True] * 6
    assert hasher.most_inside == 2
