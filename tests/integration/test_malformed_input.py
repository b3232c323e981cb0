"""No request, however malformed, gets a 500: a sweep over every endpoint of both services.

Each test sends one family of bad input to every endpoint and collects every problem before
failing, so one run shows the whole picture.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.conftest import AuthActions, bearer

SOME_ID = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str
    reads_json: bool = False
    needs_token: bool = False

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


ENDPOINTS = [
    Endpoint("auth", "POST", "/auth/register", reads_json=True),
    Endpoint("auth", "POST", "/auth/login", reads_json=True),
    Endpoint("auth", "POST", "/auth/refresh", reads_json=True),
    Endpoint("auth", "POST", "/auth/logout", reads_json=True),
    Endpoint("auth", "POST", "/auth/logout-all", needs_token=True),
    Endpoint("auth", "GET", "/auth/sessions", needs_token=True),
    Endpoint("auth", "DELETE", f"/auth/sessions/{SOME_ID}", needs_token=True),
    Endpoint("auth", "GET", "/.well-known/jwks.json"),
    Endpoint("auth", "GET", "/healthz"),
    Endpoint("auth", "GET", "/readyz"),
    Endpoint("resource", "GET", "/api/me", needs_token=True),
    Endpoint("resource", "GET", "/api/notes", needs_token=True),
    Endpoint("resource", "POST", "/api/notes", reads_json=True, needs_token=True),
    Endpoint("resource", "GET", f"/api/notes/{SOME_ID}", needs_token=True),
    Endpoint("resource", "DELETE", f"/api/notes/{SOME_ID}", needs_token=True),
    Endpoint("resource", "GET", "/healthz"),
    Endpoint("resource", "GET", "/readyz"),
]

# Bodies that are not a JSON object: every endpoint that reads JSON must answer 400.
NOT_A_JSON_OBJECT: dict[str, tuple[bytes, str]] = {
    "truncated JSON": (b'{"username": "ann", ', "application/json"),
    "JSON array": (b'["username", "password"]', "application/json"),
    "JSON number": (b"42", "application/json"),
    "JSON null": (b"null", "application/json"),
    "JSON string": (b'"refresh_token"', "application/json"),
    "JSON true": (b"true", "application/json"),
    "empty body": (b"", "application/json"),
    "whitespace": (b"  \n\t ", "application/json"),
    "deeply nested arrays": (b"[" * 10_000, "application/json"),
    "deeply nested objects": (b'{"a":' * 3_000, "application/json"),
    "closed deep nesting": (b"[" * 5_000 + b"]" * 5_000, "application/json"),
    "invalid UTF-8": (b'{"username": "\xff\xfe\xfd"}', "application/json"),
    "NaN and Infinity": (b"[NaN, Infinity, -Infinity]", "application/json"),
    "huge integer": (b"1" * 5_000, "application/json"),
    "JSON as text/plain": (b'{"username": "ann", "password": "pw"}', "text/plain"),
    "no content type": (b'{"username": "ann", "password": "pw"}', ""),
    "form encoded": (b"username=ann&password=pw&text=hi", "application/x-www-form-urlencoded"),
    "broken multipart": (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
    "binary": (bytes(range(256)) * 8, "application/octet-stream"),
    "XML": (b"<?xml version='1.0'?><login/>", "application/xml"),
}

FIELDS = ("username", "password", "scope", "refresh_token", "text")

# JSON objects whose fields are garbage: every endpoint that reads JSON must answer 400.
BAD_FIELDS: dict[str, dict[str, Any]] = {
    "objects": {name: {"$ne": None} for name in FIELDS},
    "arrays": {name: ["a", "b"] for name in FIELDS},
    "numbers": {name: 1e308 for name in FIELDS},
    "booleans": {name: False for name in FIELDS},
    "lone surrogates": {name: "ann\udfff\ud800" for name in FIELDS},  # reversed: no pair
    "NUL characters": {name: "ann\x00-1234 horse" for name in FIELDS},
    "mixed garbage": {"username": "\ud83d", "password": None, "text": "\x00", "scope": 7},
}

# JSON objects with odd but well-typed strings: any answer but a 5xx is acceptable.
ODD_STRINGS: dict[str, dict[str, Any]] = {
    "right-to-left and zero-width": {name: "\u202eann\u200b\ufeff" for name in FIELDS},
    "emoji and astral planes": {name: "📝💥𝔘𝔫𝔦𝔠𝔬𝔡𝔢" for name in FIELDS},
    "control characters": {name: "".join(map(chr, range(1, 32))) for name in FIELDS},
    "long strings": {name: "x" * 2_500 for name in FIELDS},
    "SQL and template injection": {name: "' OR 1=1; --{{7*7}}${jndi:x}" for name in FIELDS},
    "empty strings": {name: "" for name in FIELDS},
    "unknown members only": {"admin": True, "role": "root", "__proto__": {}},
}


def b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def sweep(
    client: FlaskClient, api: FlaskClient, auth: AuthActions
) -> tuple[dict[str, FlaskClient], dict[str, str]]:
    """Both clients, and a valid bearer header so that protected endpoints read their input."""
    return {"auth": client, "resource": api}, bearer(auth.tokens()["access_token"])


def problems_with(response: Any, context: str, *, expect: int | None = None) -> list[str]:
    """Return what is wrong with an answer to bad input: a 5xx, a bad error shape, a surprise."""
    found = []
    if response.status_code >= 500:
        found.append(f"{context}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    elif response.status_code >= 400:
        body = response.get_json(silent=True)
        if not isinstance(body, dict) or set(body) != {"error", "error_description"}:
            found.append(f"{context}: error body {response.get_data(as_text=True)[:200]!r}")
    if expect is not None and response.status_code != expect:
        found.append(f"{context}: {response.status_code}, expected {expect}")
    return found


def report(problems: list[str]) -> str:
    return f"{len(problems)} problems:\n" + "\n".join(problems)


def test_no_endpoint_answers_500_to_a_body_that_is_not_a_json_object(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    problems = []
    for endpoint in ENDPOINTS:
        for case, (data, content_type) in NOT_A_JSON_OBJECT.items():
            response = clients[endpoint.service].open(
                endpoint.path,
                method=endpoint.method,
                data=data,
                headers={**headers, "Content-Type": content_type},
            )
            expect = 400 if endpoint.reads_json else None
            problems += problems_with(response, f"{endpoint} [{case}]", expect=expect)

    assert not problems, report(problems)


def test_no_endpoint_answers_500_to_garbage_in_the_fields(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    problems = []
    for endpoint in ENDPOINTS:
        for case, body in BAD_FIELDS.items():
            response = clients[endpoint.service].open(
                endpoint.path, method=endpoint.method, json=body, headers=headers
            )
            expect = 400 if endpoint.reads_json else None
            problems += problems_with(response, f"{endpoint} [{case}]", expect=expect)

    assert not problems, report(problems)


def test_no_endpoint_answers_500_to_odd_strings_in_the_fields(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    problems = []
    for endpoint in ENDPOINTS:
        for case, body in ODD_STRINGS.items():
            response = clients[endpoint.service].open(
                endpoint.path, method=endpoint.method, json=body, headers=headers
            )
            problems += problems_with(response, f"{endpoint} [{case}]")

    assert not problems, report(problems)


def test_a_body_over_the_size_limit_is_413_wherever_a_body_is_read(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    problems = []
    for endpoint in ENDPOINTS:
        client = clients[endpoint.service]
        limit = client.application.config["MAX_CONTENT_LENGTH"]
        huge = json.dumps({name: "x" * limit for name in FIELDS}).encode()
        response = client.open(
            endpoint.path,
            method=endpoint.method,
            data=huge,
            headers={**headers, "Content-Type": "application/json"},
        )
        expect = 413 if endpoint.reads_json else None
        problems += problems_with(response, str(endpoint), expect=expect)
        if endpoint.reads_json and response.status_code == 413:
            assert response.get_json()["error"] == "invalid_request"

    assert not problems, report(problems)


def test_strange_authorization_headers_are_400_or_401_never_500(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, _ = sweep
    kid = clients["auth"].get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]
    real = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
    claims = {
        "sub": "x",
        "scope": "notes:read",
        "exp": 1,
        "iat": 1,
        "nbf": 1,
        "jti": "j",
        "client_id": "c",
    }
    strange = [
        "Bearer " + "A" * 8_000,
        f"Bearer {b64({'alg': 'none'})}.{b64({})}.",
        f"Bearer {b64([])}.{b64({})}.c2ln",
        f"Bearer {b64('just a string')}.{b64({})}.c2ln",
        f"Bearer {b64(b'not json')}.{b64({})}.c2ln",
        f"Bearer {b64({**real, 'kid': {'nested': 1}})}.{b64(claims)}.c2ln",
        f"Bearer {b64({**real, 'kid': ''})}.{b64(claims)}.c2ln",
        f"Bearer {b64({**real, 'typ': ['at+jwt']})}.{b64(claims)}.c2ln",
        f"Bearer {b64({**real, 'alg': None})}.{b64(claims)}.c2ln",
        f"Bearer {b64({**real, 'b64': False, 'crit': ['b64']})}.{b64(claims)}.c2ln",
        f"Bearer {b64({**real, 'crit': ['exp']})}.{b64(claims)}.c2ln",
        f"Bearer {b64({**real, 'jku': 'http://evil.example/jwks'})}.{b64(claims)}.c2ln",
        f"Bearer {b64(real)}.{b64([1, 2])}.c2ln",
        f"Bearer {b64(real)}.{b64(b'not json')}.c2ln",
        f"Bearer {b64(real)}.!!!.c2ln",
        f"Bearer {b64(real)}.{b64(claims)}.{'A' * 5_000}",
        f"Bearer {b64(real)}.{b64(claims)}",
        "Bearer a.b.c.d.e",
        "Bearer .....",
        "Bearer ~~~~",
        "Bearer +/+/==",
        "Bearer ==",
        "Bearer\ttoken",
        "Bearer \x00",
        "Bearer \x7f",
        "Bearer é",
        "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMFACAAAACjggSd",
        "Digest username=ann, realm=tokenpair",
        "Basic " + base64.b64encode(b"ann:pw").decode(),
        "Bearer ,",
        ", Bearer x",
    ]
    problems = []
    for endpoint in ENDPOINTS:
        for header in strange:
            response = clients[endpoint.service].open(
                endpoint.path, method=endpoint.method, headers={"Authorization": header}
            )
            context = f"{endpoint} [Authorization: {header[:60]!r}]"
            problems += problems_with(response, context)
            if endpoint.needs_token and response.status_code not in (400, 401):
                problems.append(f"{context}: {response.status_code}, expected 400 or 401")

    assert not problems, report(problems)


def test_odd_ids_in_the_path_are_404_never_500(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    odd_ids = ["%00", "a%00b", "%ff%fe", "%ed%a0%80", "%c3%28", "x" * 2_000, "..", "%2e%2e", "é"]
    odd_ids += ["' OR '1'='1", "1;DROP TABLE notes", "%25", "+", "~", "null", "-1"]
    problems = []
    for odd in odd_ids:
        for service, method, prefix in [
            ("auth", "DELETE", "/auth/sessions/"),
            ("resource", "GET", "/api/notes/"),
            ("resource", "DELETE", "/api/notes/"),
        ]:
            response = clients[service].open(prefix + odd, method=method, headers=headers)
            problems += problems_with(response, f"{service} {method} {prefix}{odd}", expect=404)

    assert not problems, report(problems)


def test_odd_query_strings_are_ignored(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    problems = []
    for endpoint in ENDPOINTS:
        for query in ["%00=%ff", "a=" + "b" * 4_000, "&&&==", "x[]=1&x[]=2", "%"]:
            response = clients[endpoint.service].open(
                f"{endpoint.path}?{query}", method=endpoint.method, headers=headers
            )
            problems += problems_with(response, f"{endpoint} ?{query[:40]}")

    assert not problems, report(problems)


WRONG_METHODS = [
    ("auth", "GET", "/auth/register"),
    ("auth", "GET", "/auth/login"),
    ("auth", "PUT", "/auth/refresh"),
    ("auth", "DELETE", "/auth/logout"),
    ("auth", "GET", "/auth/logout-all"),
    ("auth", "POST", "/auth/sessions"),
    ("auth", "PATCH", f"/auth/sessions/{SOME_ID}"),
    ("auth", "POST", "/.well-known/jwks.json"),
    ("auth", "POST", "/healthz"),
    ("auth", "DELETE", "/readyz"),
    ("resource", "POST", "/api/me"),
    ("resource", "PUT", "/api/notes"),
    ("resource", "DELETE", "/api/notes"),
    ("resource", "PATCH", f"/api/notes/{SOME_ID}"),
    ("resource", "POST", f"/api/notes/{SOME_ID}"),
    ("resource", "POST", "/healthz"),
    ("resource", "PUT", "/readyz"),
]


def test_a_wrong_method_is_405_in_the_json_error_shape_with_allow(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, headers = sweep
    problems = []
    for service, method, path in WRONG_METHODS:
        response = clients[service].open(path, method=method, headers=headers, json={})
        context = f"{service} {method} {path}"
        problems += problems_with(response, context, expect=405)
        if response.status_code == 405:
            if response.get_json()["error"] != "method_not_allowed":
                problems.append(f"{context}: error {response.get_json()['error']}")
            if not response.headers.get("Allow"):
                problems.append(f"{context}: no Allow header")

    assert not problems, report(problems)


def test_an_unknown_path_is_404_in_the_json_error_shape(
    sweep: tuple[dict[str, FlaskClient], dict[str, str]],
) -> None:
    clients, _ = sweep
    problems = []
    for service in ("auth", "resource"):
        for path in ["/", "/nope", "/api", "/auth", "/api/notes/a/b", "/.well-known/", "/%00"]:
            response = clients[service].get(path)
            problems += problems_with(response, f"{service} GET {path}", expect=404)

    assert not problems, report(problems)
