"""Which address a request is counted by: the peer, or the hop AUTH_TRUSTED_PROXIES names."""

from __future__ import annotations

import pytest

from auth_service.client_address import client_address
from auth_service.errors import InvalidRequest


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() -> None:
    assert client_address("192.0.2.7", ["198.51.100.1"], 0) == "192.0.2.7"
    assert client_address("192.0.2.7", ["not an address at all"], 0) == "192.0.2.7"


def test_with_one_proxy_the_last_hop_it_appended_is_the_client() -> None:
    # The client wrote "203.0.113.66"; the proxy appended the address it really saw.
    assert client_address("10.0.0.2", ["203.0.113.66, 198.51.100.1"], 1) == "198.51.100.1"


def test_with_two_proxies_the_second_hop_from_the_right_is_the_client() -> None:
    header = ["203.0.113.66, 198.51.100.1, 10.0.0.9"]

    assert client_address("10.0.0.2", header, 2) == "198.51.100.1"


def test_repeated_headers_are_read_as_one_list_in_order() -> None:
    headers = ["203.0.113.66", "198.51.100.1"]

    assert client_address("10.0.0.2", headers, 1) == "198.51.100.1"


@pytest.mark.parametrize("headers", [[], ["198.51.100.1"]])
def test_with_fewer_hops_than_proxies_the_peer_is_the_client_never_a_hop_further(
    headers: list[str],
) -> None:
    assert client_address("10.0.0.2", headers, 2) == "10.0.0.2"


@pytest.mark.parametrize(
    "header",
    ["garbage", "198.51.100.1, garbage", "198.51.100.1,", "1.2.3.4.5", "<script>", " , "],
)
def test_a_trusted_hop_that_is_not_an_address_is_invalid_request(header: str) -> None:
    with pytest.raises(InvalidRequest, match="X-Forwarded-For"):
        client_address("10.0.0.2", [header], 1)


def test_a_malformed_hop_the_proxies_did_not_write_is_ignored() -> None:
    assert client_address("10.0.0.2", ["garbage, 198.51.100.1"], 1) == "198.51.100.1"


@pytest.mark.parametrize(
    ("hop", "counted_as"),
    [
        ("198.51.100.1:51234", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::/64"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("2001:DB8:0:0:1::1", "2001:db8::/64"),
    ],
)
def test_ports_brackets_and_spellings_of_one_address_count_as_one(
    hop: str, counted_as: str
) -> None:
    assert client_address("10.0.0.2", [hop], 1) == counted_as


def test_an_ipv6_client_is_counted_by_its_64_bit_network() -> None:
    first = client_address("2001:db8:1:2::1", [], 0)
    same_network = client_address("2001:db8:1:2:ffff:ffff:ffff:ffff", [], 0)
    next_network = client_address("2001:db8:1:3::1", [], 0)

    assert first == same_network == "2001:db8:1:2::/64"
    assert next_network != first


@pytest.mark.parametrize("peer", [None, "", "unix:/run/auth.sock"])
def test_a_peer_that_is_not_an_ip_address_is_counted_as_what_the_server_says(
    peer: str | None,
) -> None:
    assert client_address(peer, ["198.51.100.1"], 0) == (peer or "unknown")
