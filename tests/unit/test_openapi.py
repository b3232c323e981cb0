"""The OpenAPI 3.1 documents in openapi/: valid, and describing exactly the routes apps serve."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from openapi_spec_validator import OpenAPIV31SpecValidator

import auth_service
import resource_service

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = {"auth": ROOT / "openapi/auth.yaml", "resource": ROOT / "openapi/resource.yaml"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Flask answers these for every route by itself; the documents describe what the views do.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def document(service: str) -> dict[str, Any]:
    return dict(yaml.safe_load(DOCUMENTS[service].read_text()))


def make_app(service: str, tmp_path: Path) -> Flask:
    """Build a service from settings that need nothing to exist (nothing is connected)."""
    if service == "auth":
        return auth_service.create_app(
            {
                "AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
                "AUTH_KEYS_DIR": str(tmp_path / "keys"),
            }
        )
    return resource_service.create_app(
        {
            "RESOURCE_DATABASE_URL": f"sqlite:///{tmp_path / 'resource.db'}",
            "RESOURCE_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",  # never fetched here
        }
    )


def registered_operations(app: Flask) -> set[tuple[str, str]]:
    """Return (METHOD, OpenAPI path) for every route of *app*."""
    operations = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - IMPLICIT_METHODS:
            operations.add((method, path))
    return operations


def documented_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (one level is all the documents use)."""
    if "$ref" not in node:
        return node
    target: Any = spec
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


def needs_bearer(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    schemes = spec["components"]["securitySchemes"]
    required = operation.get("security", spec.get("security", []))
    return any(schemes[name].get("scheme") == "bearer" for req in required for name in req)


@pytest.mark.parametrize("service", DOCUMENTS)
def test_each_document_is_valid_openapi_3_1(service: str) -> None:
    spec = document(service)

    errors = [error.message for error in OpenAPIV31SpecValidator(spec).iter_errors()]

    assert spec["openapi"].startswith("3.1."), spec["openapi"]
    assert not errors, errors


@pytest.mark.parametrize("service", DOCUMENTS)
def test_each_document_lists_exactly_the_routes_the_app_registers(
    service: str, tmp_path: Path
) -> None:
    registered = registered_operations(make_app(service, tmp_path))
    documented = documented_operations(document(service))

    assert registered - documented == set(), "routes the document does not describe"
    assert documented - registered == set(), "documented operations the app does not serve"


@pytest.mark.parametrize("service", DOCUMENTS)
def test_every_bearer_401_and_403_documents_the_www_authenticate_challenge(service: str) -> None:
    spec = document(service)
    problems = []
    for method, path, operation in operations(spec):
        if not needs_bearer(spec, operation):
            continue
        for status in ("400", "401", "403"):
            if status == "403" and path == "/api/me":
                continue  # any valid token may ask who it is: no scope, no 403
            response = operation["responses"].get(status)
            if response is None:
                problems.append(f"{method} {path}: no {status}")
                continue
            header = resolve(spec, resolve(spec, response)["headers"].get("WWW-Authenticate", {}))
            if not header.get("schema", {}).get("pattern", "").startswith("^Bearer"):
                problems.append(f"{method} {path} {status}: no Bearer challenge")
            # A 403 may instead be invalid_origin (a foreign page), which has no challenge.
            optional = status == "400" or "invalid_origin" in str(resolve(spec, response))
            if not optional and not header.get("required"):
                problems.append(f"{method} {path} {status}: challenge not required")

    assert not problems, problems


def is_error_shape(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Return whether *schema* is the Error schema, or narrows it with allOf."""
    if schema.get("$ref") == "#/components/schemas/Error":
        return True
    return any(is_error_shape(spec, part) for part in resolve(spec, schema).get("allOf", []))


@pytest.mark.parametrize("service", DOCUMENTS)
def test_every_error_response_has_the_one_error_shape(service: str) -> None:
    spec = document(service)
    error_schema = spec["components"]["schemas"]["Error"]
    problems = [
        f"{method} {path} {status}"
        for method, path, operation in operations(spec)
        for status, response in operation["responses"].items()
        if int(status) >= 400 and path != "/readyz"  # readyz's 503 reports its checks instead
        # The authorization endpoint's pages are for people: HTML, not the JSON error shape.
        if "text/html" not in resolve(spec, response)["content"]
        if not is_error_shape(
            spec, resolve(spec, response)["content"]["application/json"]["schema"]
        )
    ]

    assert error_schema["required"] == ["error", "error_description"]
    assert error_schema["additionalProperties"] is False
    assert not problems, problems


@pytest.mark.parametrize("service", DOCUMENTS)
def test_every_response_documents_the_request_id_header(service: str) -> None:
    spec = document(service)
    missing = [
        f"{method} {path} {status}"
        for method, path, operation in operations(spec)
        for status, response in operation["responses"].items()
        if "X-Request-ID" not in resolve(spec, response).get("headers", {})
    ]

    assert not missing, missing


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh", "/oauth/token"])
def test_the_limited_auth_endpoints_document_429_with_retry_after(path: str) -> None:
    spec = document("auth")
    response = resolve(spec, spec["paths"][path]["post"]["responses"]["429"])

    assert resolve(spec, response["headers"]["Retry-After"])["required"] is True


def test_token_responses_document_cache_control_no_store() -> None:
    spec = document("auth")
    for path in ("/auth/login", "/auth/refresh", "/oauth/token"):
        response = resolve(spec, spec["paths"][path]["post"]["responses"]["200"])
        header = resolve(spec, response["headers"]["Cache-Control"])
        assert header["required"] and header["schema"]["pattern"] == "no-store", path


@pytest.mark.parametrize("service", DOCUMENTS)
def test_every_operation_that_uses_the_store_documents_503_with_retry_after(service: str) -> None:
    spec = document(service)
    missing = []
    for method, path, operation in operations(spec):
        if path in (
            "/healthz",
            "/readyz",
            "/metrics",
            "/.well-known/jwks.json",
            "/.well-known/oauth-authorization-server",
        ):
            continue  # no store behind them (readyz reports a failing store as its own 503)
        response = operation["responses"].get("503")
        if response is None or "Retry-After" not in resolve(spec, response)["headers"]:
            missing.append(f"{method} {path}")

    assert not missing, missing


def test_the_components_both_documents_share_are_the_same() -> None:
    auth, resource = document("auth")["components"], document("resource")["components"]
    differing = [
        f"{kind}/{name}"
        for kind in ("headers", "schemas", "responses")
        for name in set(auth[kind]) & set(resource[kind])
        if auth[kind][name] != resource[kind][name]
        and not (kind, name) == ("responses", "Unavailable")  # each names its own outage
    ]

    assert not differing, differing


def test_the_authorization_endpoints_pages_document_their_framing_and_cache_headers() -> None:
    spec = document("auth")
    for method in ("get", "post"):
        for status, response in spec["paths"]["/oauth/authorize"][method]["responses"].items():
            resolved = resolve(spec, response)
            if "text/html" not in resolved.get("content", {}):
                continue
            headers = resolved["headers"]
            assert {"Content-Security-Policy", "X-Frame-Options", "Cache-Control"} <= set(
                headers
            ), (method, status)
