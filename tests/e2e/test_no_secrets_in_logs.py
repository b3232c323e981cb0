"""No log line of either service or of gunicorn ever holds a token, a password or a credential.

Each case sends real secrets (a user's access token, refresh token and password, plus an
Authorization and a Cookie value; on the OAuth endpoints a client secret, the base64 of Basic
credentials and the tokens issued) to both running services in one place a client might put
them, honest requests and failing ones alike, then reads every log file the processes wrote.
"""

from __future__ import annotations

import base64
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import ENGINES, HTTP_TIMEOUT, Stack, running_stack
from tests.e2e.oauth_helpers import (
    User,
    add_client,
    authorization_url,
    authorize,
    forms_of,
    pkce_pair,
)
from tests.support import random_name

RAW_TIMEOUT = 10.0
REDIRECT_URI = "https://app.example/cb"


@dataclass
class Secrets:
    """One fresh user's secrets, and what a case sent (to prove it reached the services)."""

    username: str
    password: str
    access_token: str
    refresh_token: str
    cookie_value: str = field(default_factory=lambda: f"ck{uuid.uuid4().hex}{uuid.uuid4().hex}")
    request_ids: list[str] = field(default_factory=list)
    raw_requests: int = 0
    # What a case adds: a client secret, the tokens it was issued, Basic credentials it sent.
    more: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        """Every secret, and the signature of the access token alone (a partial leak)."""
        signature = self.access_token.rsplit(".", 1)[1]
        return [
            self.password,
            self.access_token,
            signature,
            self.refresh_token,
            self.cookie_value,
            encoded_basic(self.username, self.password),
            *self.more,
        ]

    def request_id(self) -> dict[str, str]:
        """An X-Request-ID header to find this request's lines in the log afterwards."""
        self.request_ids.append(uuid.uuid4().hex)
        return {"X-Request-ID": self.request_ids[-1]}


@pytest.fixture(scope="module", params=ENGINES)
def stack(
    request: pytest.FixtureRequest, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(site, tmp_path_factory.mktemp("logs"), request.param) as running:
        yield running


def new_user(stack: Stack) -> Secrets:
    """Register and log in a fresh user; its password is lower case, like a logged username."""
    username = random_name()
    password = f"pw {uuid.uuid4().hex} horse staple"
    auth = stack.auth.url
    body = {"username": username, "password": password}
    requests.post(f"{auth}/auth/register", json=body, timeout=HTTP_TIMEOUT).raise_for_status()
    tokens = requests.post(f"{auth}/auth/login", json=body, timeout=HTTP_TIMEOUT)
    tokens.raise_for_status()
    return Secrets(
        username, password, tokens.json()["access_token"], tokens.json()["refresh_token"]
    )


def send(
    stack: Stack,
    secrets: Secrets,
    method: str,
    path: str,
    *,
    service: str = "both",
    headers: dict[str, str] | None = None,
    json: object = None,
    data: object = None,
) -> None:
    """Send one request to one or both services; any answer is fine, a 5xx is not."""
    urls = {"auth": [stack.auth.url], "resource": [stack.resource.url]}.get(
        service, [stack.auth.url, stack.resource.url]
    )
    for url in urls:
        answer = requests.request(
            method, f"{url}{path}", headers={**(headers or {}), **secrets.request_id()},
            json=json, data=data, timeout=HTTP_TIMEOUT,  # type: ignore[arg-type]
        )  # fmt: skip
        assert answer.status_code < 500, (method, path, answer.status_code, answer.text)


def send_raw(stack: Stack, secrets: Secrets, data: bytes) -> None:
    """Write *data* on a raw socket to both services and read the answer (gunicorn's own)."""
    for port in (stack.auth.port, stack.resource.port):
        with socket.create_connection(("127.0.0.1", port), timeout=RAW_TIMEOUT) as connection:
            connection.sendall(data)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:200]
        secrets.raw_requests += 1


def encoded_basic(user: str, password: str) -> str:
    """Return the base64 credentials of an HTTP Basic header (RFC 7617), a secret of its own."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def basic(secrets: Secrets) -> str:
    return f"Basic {encoded_basic(secrets.username, secrets.password)}"


# The cases: one place a client might put secrets each. ---------------------------------------


def in_headers(stack: Stack, s: Secrets) -> None:
    cookie = f"tokenpair_refresh={s.refresh_token}; session={s.cookie_value}"
    for path in ("/api/me", "/api/notes", "/auth/sessions", "/auth/logout-all", "/nowhere"):
        for authorization in (f"Bearer {s.access_token}", f"Bearer {s.refresh_token}",
                              f"Bearer {s.access_token}x", basic(s), s.access_token):  # fmt: skip
            send(stack, s, "GET", path, headers={"Authorization": authorization, "Cookie": cookie})
    send(stack, s, "GET", "/api/me", headers={"X-Access-Token": s.access_token,
                                              "X-Refresh-Token": s.refresh_token})  # fmt: skip
    # A caller's request id is logged on every line: a token given as one must not be.
    for value in (s.refresh_token, s.access_token):
        requests.get(f"{stack.auth.url}/healthz", headers={"X-Request-ID": value}, timeout=10)


def in_the_query_string(stack: Stack, s: Secrets) -> None:
    query = (f"access_token={s.access_token}&refresh_token={s.refresh_token}"
             f"&password={s.password.replace(' ', '+')}&cookie={s.cookie_value}")  # fmt: skip
    for method, path in (("GET", "/api/me"), ("GET", "/api/notes"), ("POST", "/auth/refresh"),
                         ("POST", "/auth/login"), ("GET", "/auth/sessions"),
                         ("GET", "/nowhere"), ("PUT", "/healthz")):  # fmt: skip
        send(stack, s, method, f"{path}?{query}")


def in_a_json_body(stack: Stack, s: Secrets) -> None:
    auth = "auth"
    send(stack, s, "POST", "/auth/login", service=auth,
         json={"username": s.username, "password": s.password + "wrong"})  # fmt: skip
    with_scope = {"username": s.username, "password": s.password, "scope": s.refresh_token}
    send(stack, s, "POST", "/auth/login", service=auth, json=with_scope)
    send(stack, s, "POST", "/auth/register", service=auth,
         json={"username": s.username, "password": s.password})  # 409  # fmt: skip
    send(stack, s, "POST", "/auth/refresh", service=auth, json={"refresh_token": s.access_token})
    send(stack, s, "POST", "/auth/refresh", service=auth, json={"refresh_token": [s.refresh_token]})
    send(stack, s, "POST", "/auth/logout", service=auth,
         json={"refresh_token": s.refresh_token + "x"})  # fmt: skip
    send(stack, s, "POST", "/api/notes", json={"text": s.refresh_token, "token": s.access_token},
         headers={"Authorization": f"Bearer {s.access_token}"})  # fmt: skip
    broken = f'{{"refresh_token": "{s.refresh_token}", "password": "{s.password}"'
    send(stack, s, "POST", "/auth/refresh", data=broken,
         headers={"Content-Type": "application/json"})  # fmt: skip
    too_big = {"refresh_token": s.refresh_token, "padding": "x" * 70_000}  # 413
    send(stack, s, "POST", "/auth/refresh", json=too_big)
    send(stack, s, "POST", "/api/notes", json=too_big)


def in_a_form_body(stack: Stack, s: Secrets) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": s.refresh_token,
            "username": s.username, "password": s.password,
            "access_token": s.access_token}  # fmt: skip
    for path in ("/auth/refresh", "/auth/login", "/auth/logout", "/api/notes", "/nowhere"):
        send(stack, s, "POST", path, data=form)


def in_the_path(stack: Stack, s: Secrets) -> None:
    for path in (f"/api/notes/{s.refresh_token}", f"/auth/sessions/{s.access_token}",
                 f"/{s.refresh_token}", f"/auth/{s.password.replace(' ', '%20')}"):  # fmt: skip
        send(stack, s, "GET", path, headers={"Authorization": f"Bearer {s.access_token}"})
        send(stack, s, "DELETE", path, headers={"Authorization": f"Bearer {s.access_token}"})


def in_a_malformed_request_line(stack: Stack, s: Secrets) -> None:
    a, r, p = s.access_token, s.refresh_token, s.password.replace(" ", "+")
    for line in (
        f"GET /api/me?access_token={a} HTTP/1.1 junk",
        f"GET /auth/refresh?refresh_token={r} extra HTTP/1.1",
        f"GET /auth/login?password={p}&x HTTP/9.9",
        f"GET /{r} HTTP/1.1 junk",
        f"GET /{r}\x01?access_token={a} HTTP/1.1",
        f"get /api/me?access_token={a} HTTP/1.1",
        f"GET /api/me?access_token={a}",
    ):
        send_raw(stack, s, f"{line}\r\nHost: x\r\n\r\n".encode("latin-1"))
    for header in (
        f"Authorization : Bearer {a}",
        f"Authorization: Bearer {a}\x01",
        f"Cookie: session={s.cookie_value}\x7f; refresh={r}",
        f"Bad Header {r}: x",
        f" folded: Bearer {a}",
    ):
        send_raw(stack, s, f"GET /api/me HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode("latin-1"))


def in_an_oversized_header(stack: Stack, s: Secrets) -> None:
    padding = "x" * 9000  # gunicorn's limit on one header line is 8190 bytes
    for header in (f"Authorization: Bearer {s.access_token}{padding}",
                   f"Cookie: refresh={s.refresh_token}; pad={padding}",
                   f"X-Request-ID: {s.refresh_token}{padding}"):  # fmt: skip
        send_raw(stack, s, f"GET /api/me HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
    long_line = f"GET /api/me?access_token={s.access_token}&pad={padding} HTTP/1.1"  # > 4094
    send_raw(stack, s, f"{long_line}\r\nHost: x\r\n\r\n".encode())
    many = "".join(f"X-Pad-{i}: {s.refresh_token}\r\n" for i in range(120))  # > 100 fields
    send_raw(stack, s, f"GET /api/me HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())


def with_a_bad_method(stack: Stack, s: Secrets) -> None:
    headers = {"Authorization": f"Bearer {s.access_token}", "Cookie": f"r={s.refresh_token}"}
    for method in ("FOO", "PROPFIND", "TRACE", "PATCH"):
        send(stack, s, method, f"/auth/refresh?refresh_token={s.refresh_token}",
             headers=headers, json={"password": s.password})  # fmt: skip
        send(stack, s, method, "/api/notes", headers=headers)
    for method in ("foo", s.refresh_token, "X" * 40, "GE\x01T"):
        send_raw(stack, s, f"{method} /api/me?access_token={s.access_token} HTTP/1.1\r\n"
                           f"Host: x\r\nAuthorization: Bearer {s.access_token}\r\n\r\n"
                           .encode("latin-1"))  # fmt: skip


def on_the_oauth_endpoints(stack: Stack, s: Secrets) -> None:
    """The sign-in form of /oauth/authorize, and credentials and tokens in /oauth/token forms."""
    client = add_client(stack, "--redirect-uri", REDIRECT_URI, "--confidential")
    client_id, secret = client["client_id"], client["client_secret"]
    s.more += [secret, encoded_basic(client_id, secret)]
    browser = requests.Session()
    browser.headers.update(s.request_id())
    verifier, challenge = pkce_pair()
    url = authorization_url(
        stack, response_type="code", client_id=client_id, redirect_uri=REDIRECT_URI,
        scope="notes:read", state="st", code_challenge=challenge, code_challenge_method="S256",
    )  # fmt: skip
    (login,) = forms_of(browser.get(url, timeout=HTTP_TIMEOUT))
    wrong = login.submit(browser, {"username": s.username, "password": s.password + "wrong"})
    assert "incorrect" in wrong.text, wrong.text  # the form again, 400
    user = User(s.username, "", s.password)
    code = authorize(url, REDIRECT_URI, user, browser=browser).query["code"]
    as_basic = {"Authorization": f"Basic {encoded_basic(client_id, secret)}"}
    redeem = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
              "code_verifier": verifier}  # fmt: skip
    issued = requests.post(
        f"{stack.auth.url}/oauth/token", data=redeem, headers={**as_basic, **s.request_id()},
        timeout=HTTP_TIMEOUT,
    )  # fmt: skip
    assert issued.status_code == 200, issued.text
    s.more += [issued.json()["access_token"], issued.json()["refresh_token"]]
    in_body = {"client_id": client_id, "client_secret": secret}
    wrong_basic = {"Authorization": basic(s)}  # a user's password as a client secret: 401
    for refresh_token in (issued.json()["refresh_token"], s.refresh_token, s.access_token):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        send(stack, s, "POST", "/oauth/token", service="auth", data={**form, **in_body})
        for headers in (as_basic, wrong_basic):
            send(stack, s, "POST", "/oauth/token", service="auth", data=form, headers=headers)
    both_ways = {"grant_type": "client_credentials", "client_secret": secret}  # 400
    send(stack, s, "POST", "/oauth/token", service="auth", headers=as_basic, data=both_ways)
    send(stack, s, "POST", "/oauth/revoke", service="auth", headers=as_basic,
         data={"token": s.refresh_token + "x", "password": s.password})  # fmt: skip


def a_password_typed_as_the_username(stack: Stack, s: Secrets) -> None:
    send(stack, s, "POST", "/auth/login", service="auth",
         json={"username": s.password, "password": s.password})  # fmt: skip


CASES: list[Callable[[Stack, Secrets], None] | object] = [
    in_headers,
    in_the_query_string,
    in_a_json_body,
    in_a_form_body,
    in_the_path,
    in_a_malformed_request_line,
    in_an_oversized_header,
    with_a_bad_method,
    on_the_oauth_endpoints,
    a_password_typed_as_the_username,
]


def log_text(stack: Stack) -> str:
    """Every log file of both services' gunicorn masters and workers (stdout and stderr)."""
    files = sorted(stack.auth.workdir.glob("*.log"))
    assert {stack.auth.log_path, stack.resource.log_path} <= set(files)
    return "\n".join(path.read_text(errors="replace") for path in files)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)  # type: ignore[union-attr]
def test_no_log_line_holds_a_secret_sent(
    stack: Stack, case: Callable[[Stack, Secrets], None]
) -> None:
    secrets = new_user(stack)
    invalid_before = log_text(stack).count("Invalid request from ip=")

    case(stack, secrets)

    logs = log_text(stack)
    # The requests reached the services and were logged: the test is not vacuous.
    assert all(request_id in logs for request_id in secrets.request_ids)
    assert logs.count("Invalid request from ip=") - invalid_before >= secrets.raw_requests
    assert secrets.request_ids or secrets.raw_requests
    leaked = [
        line
        for line in logs.lower().splitlines()
        for secret in secrets.all()
        if secret.lower() in line
    ]
    assert not leaked, leaked[:3]
