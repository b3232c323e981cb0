"""AUTH_BROWSER_ORIGINS and RESOURCE_CORS_ORIGINS: exact origins, or start-up stops naming them."""

from __future__ import annotations

import pytest

from auth_service.settings import Settings as AuthSettings
from resource_service.settings import Settings as ResourceSettings
from shared.config import ConfigError
from shared.origins import origin_of, parse_origins


def test_origins_are_read_trimmed_deduplicated_and_lower_cased() -> None:
    raw = " https://App.example.com, http://127.0.0.1:8003,,https://app.example.com "

    assert parse_origins("AUTH_BROWSER_ORIGINS", raw) == (
        "https://app.example.com",
        "http://127.0.0.1:8003",
    )


def test_no_origins_is_an_empty_tuple() -> None:
    assert parse_origins("AUTH_BROWSER_ORIGINS", None) == ()


@pytest.mark.parametrize(
    "bad",
    [
        "*",
        "null",
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "https://*.example.com",
        "https://user@app.example.com",
        "https://app.example.com:443",  # a browser never sends the default port
        "https://app.example.com:99999",
        "https://app.example.com:port",
        "ftp://app.example.com",
        "https://app.example.com?x",
    ],
)
def test_anything_but_an_exact_origin_stops_start_up_naming_the_variable(bad: str) -> None:
    with pytest.raises(ConfigError, match="AUTH_BROWSER_ORIGINS"):
        parse_origins("AUTH_BROWSER_ORIGINS", f"https://ok.example, {bad}")


def test_an_ipv6_origin_keeps_its_brackets() -> None:
    assert parse_origins("RESOURCE_CORS_ORIGINS", "http://[::1]:8003") == ("http://[::1]:8003",)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://localhost:8001", "http://localhost:8001"),
        ("https://Auth.Example.com/tenant/", "https://auth.example.com"),
        ("https://auth.example.com:443", "https://auth.example.com"),
        ("urn:tokenpair", None),
    ],
)
def test_the_origin_of_the_issuer_is_its_scheme_host_and_port(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_both_services_read_their_origins() -> None:
    auth = AuthSettings.from_env({"AUTH_BROWSER_ORIGINS": "http://localhost:8003"})
    resource = ResourceSettings.from_env(
        {"RESOURCE_CORS_ORIGINS": "http://localhost:8003", "RESOURCE_JWKS_URL": "http://a/j"}
    )

    assert auth.browser_origins == resource.cors_origins == ("http://localhost:8003",)
    assert AuthSettings.from_env({}).browser_origins == ()


def test_a_bad_resource_origin_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="RESOURCE_CORS_ORIGINS"):
        ResourceSettings.from_env(
            {"RESOURCE_CORS_ORIGINS": "https://x.example/", "RESOURCE_JWKS_URL": "http://a/j"}
        )


@pytest.mark.parametrize(
    "origin", ["http://localhost:8003", "http://127.0.0.1:8003", "http://[::1]"]
)
def test_plain_http_page_origins_are_accepted_on_loopback_only(origin: str) -> None:
    assert AuthSettings.from_env({"AUTH_BROWSER_ORIGINS": origin}).browser_origins == (origin,)


def test_a_plain_http_page_elsewhere_could_never_keep_the_secure_cookie() -> None:
    with pytest.raises(ConfigError, match="AUTH_BROWSER_ORIGINS: http://app.example.com cannot"):
        AuthSettings.from_env({"AUTH_BROWSER_ORIGINS": "http://app.example.com"})
    # The resource service sends no cookie: any exact origin will do there.
    resource = ResourceSettings.from_env(
        {"RESOURCE_CORS_ORIGINS": "http://app.example.com", "RESOURCE_JWKS_URL": "http://a/j"}
    )
    assert resource.cors_origins == ("http://app.example.com",)
