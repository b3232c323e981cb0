"""Property tests: random methods, paths, headers and bodies at both apps, real tokens among them.

Whatever arrives, each answer must hold what the contract promises: never a 5xx; every error in
the one JSON shape (the authorization endpoint's HTML pages: unframeable, never cached, an error
page never a redirect); WWW-Authenticate on every bearer 401/403 (RFC 6750 §3), agreeing with
the body; Retry-After on 429 and 503; and, when the request reached a documented operation, a
status and body that openapi/<service>.yaml documents. Real usernames, passwords, access and
refresh tokens, note and session ids are mixed into the input so the views behind the parsers
run too.

Each test keeps one database for all its examples: the properties hold in any state, and a
fixed seed per operation makes a failure reproduce. TOKENPAIR_FUZZ_EXAMPLES sets
the examples per operation (default 25).
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, seed, settings
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

from tests.integration.fuzzing import SPENDING, filled, fresh_values, operations, requests_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("TOKENPAIR_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a login hashes a password: timing is not the property
    database=None,  # with the seed below: the same examples on every run and every machine
    suppress_health_check=[HealthCheck.too_slow],  # each example is a whole request
)
CHALLENGE = re.compile(r'Bearer realm="tokenpair"(, [a-z_]+="[^"\\]*")*')


class Document:
    """One service's OpenAPI document: which operation a request reached, what it may answer."""

    def __init__(self, service: str) -> None:
        self.uri = f"urn:tokenpair:{service}"
        self.spec = yaml.safe_load((ROOT / "openapi" / f"{service}.yaml").read_text())
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)

    def operation(self, template: str, method: str) -> dict[str, Any] | None:
        item = self.spec["paths"].get(template, {})
        return item.get("get" if method == "HEAD" else method.lower())

    def needs_bearer(self, operation: dict[str, Any]) -> bool:
        return bool(operation.get("security", self.spec.get("security", [])))

    def body_errors(self, template: str, method: str, status: int, body: Any) -> list[str]:
        """Return how *body* breaks the documented schema of this answer."""
        pointer = "/paths/" + _escape(template) + f"/{method.lower()}/responses/{status}"
        response = self.operation(template, method)["responses"][str(status)]  # type: ignore[index]
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self.spec["components"]["responses"][pointer.rsplit("/", 1)[1]]
        if "application/json" not in response.get("content", {}):
            return []
        schema = {"$ref": f"{self.uri}#{pointer}/content/application~1json/schema"}
        validator = Draft202012Validator(
            schema, registry=self.registry, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        return [error.message for error in validator.iter_errors(body)]


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


DOCUMENTS = {"auth": Document("auth"), "resource": Document("resource")}


# The properties -----------------------------------------------------------------------------


def problems_with(service: str, app: Flask, request: dict[str, Any], response: Any) -> list[str]:
    """Return every way *response* breaks the contract for *request* (empty: it holds)."""
    found: list[str] = []
    status, method = response.status_code, request["method"]
    body = response.get_json(silent=True)
    if status >= 500:
        return [f"{status}: {response.get_data(as_text=True)[:300]}"]
    if request["path"].startswith("/oauth/authorize") and response.mimetype == "text/html":
        if "no-store" not in response.headers.get("Cache-Control", ""):
            found.append(f"{status} HTML page without Cache-Control: no-store")
        if response.headers.get("X-Frame-Options") != "DENY":
            found.append(f"{status} HTML page that may be framed")
        if status >= 400 and "Location" in response.headers:
            found.append(f"{status} HTML error page that redirects")
    elif status >= 400 and method != "HEAD":  # a HEAD answer has no body to shape
        if not isinstance(body, dict) or set(body) != {"error", "error_description"}:
            found.append(f"{status} not in the error shape: {response.get_data()[:200]!r}")
        elif not all(isinstance(value, str) for value in body.values()):
            found.append(f"{status} with non-string members: {body}")
    if status in (429, 503) and not response.headers.get("Retry-After", "").isdigit():
        found.append(f"{status} without a Retry-After in seconds")
    if status == 405 and not response.headers.get("Allow"):
        found.append("405 without Allow")
    template = matched_template(app, request)
    if template is None:
        return found  # unknown path or method, or a redirect: nothing documented to compare
    document = DOCUMENTS[service]
    operation = document.operation(template, method)
    if operation is None:
        return found
    if str(status) not in operation["responses"]:
        return [*found, f"{status} is not documented for {method} {template}"]
    challenge = response.headers.get("WWW-Authenticate")
    refused_origin = isinstance(body, dict) and body.get("error") == "invalid_origin"
    if (
        document.needs_bearer(operation)
        and status in (401, 403)
        and not refused_origin
        or (challenge is not None)
    ):
        # Every bearer 401/403 has one; a 400 for a malformed Authorization header may.
        if not CHALLENGE.fullmatch(challenge or ""):
            found.append(f"{status} without an RFC 6750 challenge: {challenge!r}")
        elif isinstance(body, dict) and body.get("error") not in (None, "unauthorized"):
            if f'error="{body["error"]}"' not in (challenge or ""):
                found.append(f"challenge {challenge!r} disagrees with body {body}")
    if method != "HEAD" and response.mimetype == "application/json":
        found += document.body_errors(template, method, status, body)
    if isinstance(body, dict) and "access_token" in body:
        if "no-store" not in response.headers.get("Cache-Control", ""):
            found.append("a token response without Cache-Control: no-store")
    return found


def matched_template(app: Flask, request: dict[str, Any]) -> str | None:
    """Return the OpenAPI path of the route Flask dispatches *request* to, if any."""
    environ = EnvironBuilder(**request).get_environ()
    try:
        rule, _ = app.url_map.bind_to_environ(environ).match(return_rule=True)
    except HTTPException:  # NotFound, MethodNotAllowed, or a RequestRedirect (//auth/login)
        return None
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def send(client: FlaskClient, request: dict[str, Any]) -> Any:
    return client.open(EnvironBuilder(**request))


def fuzz(
    service: str, operation: tuple[str, str] | None, client: FlaskClient, api: FlaskClient
) -> None:
    """Send random requests to *operation* of *service* (None: anywhere); fail on a broken one."""
    target = client if service == "auth" else api
    values = fresh_values(client, api)

    @FUZZ
    @seed(zlib.crc32(f"{service} {operation}".encode()))  # fixed, and its own per operation
    @given(request=requests_for(operation))
    def holds(request: dict[str, Any]) -> None:
        # An operation that may revoke or delete what the values name gets new ones each time.
        request = filled(request, fresh_values(client, api) if operation in SPENDING else values)
        problems = problems_with(service, target.application, request, send(target, request))
        assert not problems, (problems, request)

    holds()


@pytest.mark.parametrize("service", DOCUMENTS)
def test_random_requests_keep_every_promise_of_the_contract(
    service: str, client: FlaskClient, api: FlaskClient
) -> None:
    # Each documented operation gets its own examples, then any method at any path does.
    for operation in [*operations(DOCUMENTS[service].spec), None]:
        fuzz(service, operation, client, api)
