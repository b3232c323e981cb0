"""A bad environment stops either service at start-up with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import auth_service
import resource_service
from auth_service.keystore import KeyStore
from shared.config import APP_LOAD_ERROR
from tests.support import FakeClock

AUTH_CASES = {
    "ttl not a number": ({"AUTH_ACCESS_TOKEN_TTL": "abc"}, ["AUTH_ACCESS_TOKEN_TTL"]),
    "ttl zero": ({"AUTH_ACCESS_TOKEN_TTL": "0"}, ["AUTH_ACCESS_TOKEN_TTL"]),
    "ttl negative": ({"AUTH_REFRESH_TOKEN_TTL": "-5"}, ["AUTH_REFRESH_TOKEN_TTL"]),
    "ttl fractional": ({"AUTH_ACCESS_TOKEN_TTL": "1.5"}, ["AUTH_ACCESS_TOKEN_TTL"]),
    "access outlives refresh": (
        {"AUTH_ACCESS_TOKEN_TTL": "5000", "AUTH_REFRESH_TOKEN_TTL": "1000"},
        ["AUTH_ACCESS_TOKEN_TTL", "AUTH_REFRESH_TOKEN_TTL"],
    ),
    "session shorter than refresh": (
        {"AUTH_SESSION_MAX_AGE": "100"},
        ["AUTH_SESSION_MAX_AGE", "AUTH_REFRESH_TOKEN_TTL"],
    ),
    "grace as long as refresh": (
        {"AUTH_REFRESH_TOKEN_TTL": "1000", "AUTH_REFRESH_REUSE_GRACE": "1000"},
        ["AUTH_REFRESH_REUSE_GRACE"],
    ),
    "grace negative": ({"AUTH_REFRESH_REUSE_GRACE": "-1"}, ["AUTH_REFRESH_REUSE_GRACE"]),
    "symmetric algorithm": ({"AUTH_SIGNING_ALG": "HS256"}, ["AUTH_SIGNING_ALG"]),
    "no failures allowed": ({"AUTH_LOGIN_MAX_FAILURES": "0"}, ["AUTH_LOGIN_MAX_FAILURES"]),
    "database not a url": ({"AUTH_DATABASE_URL": "::nonsense::"}, ["AUTH_DATABASE_URL"]),
    "database of another kind": (
        {"AUTH_DATABASE_URL": "mysql://db/auth"},
        ["AUTH_DATABASE_URL"],
    ),
}


@pytest.mark.parametrize("case", AUTH_CASES)
def test_the_auth_service_refuses_to_start_with_a_bad_setting(
    case: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    environ, named = AUTH_CASES[case]

    with pytest.raises(SystemExit) as stopped:
        auth_service.create_app({"AUTH_KEYS_DIR": str(tmp_path / "keys"), **environ})

    assert stopped.value.code == APP_LOAD_ERROR == 4
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("auth_service: configuration error: ")
    for variable in named:
        assert variable in line


RESOURCE_CASES = {
    "neither key source": ({}, ["RESOURCE_PUBLIC_KEY_FILE", "RESOURCE_JWKS_URL"]),
    "both key sources": (
        {"RESOURCE_PUBLIC_KEY_FILE": "{public}", "RESOURCE_JWKS_URL": "http://auth/jwks.json"},
        ["RESOURCE_PUBLIC_KEY_FILE", "RESOURCE_JWKS_URL"],
    ),
    "key file missing": ({"RESOURCE_PUBLIC_KEY_FILE": "{missing}"}, ["RESOURCE_PUBLIC_KEY_FILE"]),
    "private key given": ({"RESOURCE_PUBLIC_KEY_FILE": "{private}"}, ["RESOURCE_PUBLIC_KEY_FILE"]),
    "empty key set": ({"RESOURCE_PUBLIC_KEY_FILE": "{empty}"}, ["RESOURCE_PUBLIC_KEY_FILE"]),
    "jwks url not http": ({"RESOURCE_JWKS_URL": "file:///etc/jwks.json"}, ["RESOURCE_JWKS_URL"]),
    "max stale negative": (
        {"RESOURCE_JWKS_URL": "http://auth/jwks.json", "RESOURCE_JWKS_MAX_STALE": "-1"},
        ["RESOURCE_JWKS_MAX_STALE"],
    ),
    "leeway not a number": (
        {"RESOURCE_PUBLIC_KEY_FILE": "{public}", "RESOURCE_LEEWAY": "abc"},
        ["RESOURCE_LEEWAY"],
    ),
    "leeway too large": (
        {"RESOURCE_PUBLIC_KEY_FILE": "{public}", "RESOURCE_LEEWAY": "3600"},
        ["RESOURCE_LEEWAY"],
    ),
    "database of another kind": (
        {"RESOURCE_PUBLIC_KEY_FILE": "{public}", "RESOURCE_DATABASE_URL": "oracle://db/notes"},
        ["RESOURCE_DATABASE_URL"],
    ),
}


@pytest.fixture
def key_files(tmp_path: Path, clock: FakeClock) -> dict[str, str]:
    """Paths a RESOURCE_PUBLIC_KEY_FILE may name: good, private, empty and missing."""
    key = KeyStore(tmp_path / "keys").create("RS256", clock())
    public = tmp_path / "public.pem"
    public.write_bytes(
        key.public.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    empty = tmp_path / "empty.json"
    empty.write_text('{"keys": []}')
    return {
        "public": str(public),
        "private": str(tmp_path / "keys" / f"{key.kid}.pem"),
        "empty": str(empty),
        "missing": str(tmp_path / "no-such-file.pem"),
    }


@pytest.mark.parametrize("case", RESOURCE_CASES)
def test_the_resource_service_refuses_to_start_with_a_bad_setting(
    case: str, capsys: pytest.CaptureFixture[str], key_files: dict[str, str]
) -> None:
    template, named = RESOURCE_CASES[case]
    environ = {name: value.format(**key_files) for name, value in template.items()}

    with pytest.raises(SystemExit) as stopped:
        resource_service.create_app(environ)

    assert stopped.value.code == APP_LOAD_ERROR
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("resource_service: configuration error: ")
    for variable in named:
        assert variable in line


def test_both_services_start_with_a_complete_environment(
    tmp_path: Path, key_files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    auth = auth_service.create_app(
        {
            "AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
            "AUTH_KEYS_DIR": str(tmp_path / "keys"),
        }
    )
    resource = resource_service.create_app(
        {
            "RESOURCE_DATABASE_URL": f"sqlite:///{tmp_path / 'resource.db'}",
            "RESOURCE_PUBLIC_KEY_FILE": key_files["public"],
        }
    )

    assert auth.name == "auth_service" and resource.name == "resource_service"
    assert capsys.readouterr().err == ""
