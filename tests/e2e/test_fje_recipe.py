"""The flask-jwt-extended recipe (examples/fje_resource) through the conformance kit.

The real auth service issues the tokens; the kit's resource-server checks (`--resource-server-
only`, with the issuer's keys so that every forgery runs) go to the example service under
gunicorn: with the recipe every check holds; with FJE's defaults exactly those below fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack import HAS_CONTROL_SOCKET
from tests.e2e.harness import (
    BIN,
    ROOT,
    SETUP_COMMANDS,
    Service,
    base_env,
    free_port,
)
from tests.support import GENEROUS_ADDRESS_LIMITS

# What the kit saw where a check failed against FJE's defaults: the status code where it was
# wrong, "no challenge" where the status was right but WWW-Authenticate missing.
FORGED = "test_a_forged_or_misused_token_is_refused_with_invalid_token[{}-resource]"
MALFORMED = "test_a_malformed_authorization_header_gets_400_invalid_request[{}]"
FAILING_UNDER_FJE_DEFAULTS = {
    # JWT_ALGORITHM (HS256) is appended to the decode algorithms: PyJWT raises TypeError.
    FORGED.format("hs256-keyed-with-the-public-key"): "500",
    # decode_key_loader's exception (no such kid, no kid at all) is not FJE's to catch.
    FORGED.format("an-unknown-kid"): "500",
    FORGED.format("no-kid"): "500",
    # Accepted: FJE requires no exp, checks no range; the view then fails on exp.
    FORGED.format("missing-exp"): "500",
    FORGED.format("exp-past-year-9999"): "500",
    # Accepted: FJE checks no typ.
    FORGED.format("typ-jwt"): "200",
    FORGED.format("no-typ"): "200",
    # Refused, but 422 with {"msg"} and no WWW-Authenticate.
    **{
        FORGED.format(attack): "422"
        for attack in (
            "alg-none",
            "a-foreign-key-under-the-real-kid",
            "tampered-claims",
            "a-refresh-token",
            "garbage",
            "three-garbage-segments",
            "wrong-issuer",
            "wrong-audience",
            "missing-sub",
            "not-yet-valid",
        )
    },  # fmt: skip
    # Expired: 401, but no WWW-Authenticate telling the client to refresh.
    FORGED.format("expired"): "no challenge",
    "test_a_session_continues_past_access_token_expiry_by_refreshing": "no challenge",
    "test_a_request_without_credentials_gets_a_bare_bearer_challenge[resource]": "no challenge",
    # A malformed Authorization header is "missing" (401) or a bad token (422), never 400.
    **{MALFORMED.format(header): "401" for header in ("Basic dXNlcjpwYXNz", "Token abc")},
    **{
        MALFORMED.format(header): "422"
        for header in (
            "Bearer",
            "Bearer ",
            "Bearer two tokens",
            "Bearer a,b",
        )
    },  # fmt: skip
    # Leeway 0: a token expired 2 s ago is refused (tokenpair allows 5 s).
    "test_a_token_expired_less_than_the_leeway_ago_is_still_accepted": "401",
}

# Long enough that no other check meets an expired token, short enough that the expiry check
# runs (it waits the lifetime plus the leeway) rather than being skipped.
ACCESS_TOKEN_TTL = "10"


@pytest.fixture(scope="module")
def issuer(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The auth service alone, as the harness runs it (SQLite, keys under ./var/keys)."""
    workdir = tmp_path_factory.mktemp("fje-issuer")
    port = free_port()
    env = {**base_env(site), "AUTH_ISSUER": f"http://127.0.0.1:{port}",
           "AUTH_ACCESS_TOKEN_TTL": ACCESS_TOKEN_TTL, **GENEROUS_ADDRESS_LIMITS}  # fmt: skip
    auth = Service("auth", "auth_service", port, env, workdir)
    for args in SETUP_COMMANDS["auth_service"]:
        auth.flask(*args)
    auth.start()
    try:
        yield auth
    finally:
        auth.stop()


class ExampleService(Service):
    """An example app under plain gunicorn, as a team runs it (not tokenpair's settings)."""

    def command(self) -> list[str]:
        # One worker: the example keeps its notes in memory. A few threads, as in production.
        return [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                "--threads", "4", *(["--no-control-socket"] if HAS_CONTROL_SOCKET else []),
                f"{self.app}:create_app()"]  # fmt: skip


def fje_service(site: Path, issuer: Service, workdir: Path, module: str) -> Service:
    """The example app *module* under gunicorn, verifying the tokens of *issuer*."""
    env = {
        **base_env(site),
        "PYTHONPATH": f"{site}{os.pathsep}{ROOT}",  # examples/ is not in the wheel
        "RESOURCE_JWKS_URL": f"{issuer.url}/.well-known/jwks.json",
        "RESOURCE_ISSUER": issuer.url,
    }
    service = ExampleService(module.rsplit(".", 1)[-1], module, free_port(), env, workdir)
    service.start()
    return service


def resource_server_checks(issuer: Service, resource: Service, report: Path) -> dict[str, str]:
    """Run the kit's resource-server checks against *resource*; map each check to its outcome."""
    run = subprocess.run(
        [sys.executable, "-m", "tests.conformance", "--auth-url", issuer.url,
         "--resource-url", resource.url, "--resource-server-only",
         "--issuer-keys-dir", str(issuer.workdir / "var" / "keys"), "--junit-xml", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert "the resource server's checks only" in run.stdout, run.stdout + run.stderr
    outcomes = {}
    for case in ElementTree.parse(report).iter("testcase"):
        name = case.get("name", "").replace("[given-", "[").replace("[given]", "")
        outcomes[name] = outcome(case)
    assert outcomes, run.stdout + run.stderr
    assert (run.returncode == 0) == (set(outcomes.values()) <= {"ok"}), run.stdout
    return outcomes


def outcome(case: ElementTree.Element) -> str:
    """ "ok", "skipped", or what a failed check saw: the wrong status, or "no challenge"."""
    for child in case:
        if child.tag == "skipped":
            return "skipped"
        if child.tag in ("failure", "error"):
            message = child.get("message", "")
            if "KeyError: 'www-authenticate'" in message or "(none)" in message:
                return "no challenge"
            status = re.search(r"assert (\d{3}) == \d{3}", message)
            return status[1] if status else message
    return "ok"


def test_the_recipe_passes_every_resource_server_check(
    site: Path, issuer: Service, tmp_path: Path
) -> None:
    recipe = fje_service(site, issuer, tmp_path, "examples.fje_resource.app")
    try:
        outcomes = resource_server_checks(issuer, recipe, tmp_path / "report.xml")
    finally:
        recipe.stop()

    assert {name: seen for name, seen in outcomes.items() if seen != "ok"} == {}
    # The forgeries, the RFC 6750 table, notes, expiry, leeway: the README cites these counts.
    assert len(outcomes) == 32
    assert "Traceback" not in recipe.log()


def test_fjes_defaults_fail_exactly_these_checks(
    site: Path, issuer: Service, tmp_path: Path
) -> None:
    defaults = fje_service(site, issuer, tmp_path, "examples.fje_resource.defaults")
    try:
        outcomes = resource_server_checks(issuer, defaults, tmp_path / "report.xml")
    finally:
        defaults.stop()

    failed = {name: seen for name, seen in outcomes.items() if seen != "ok"}
    assert failed == FAILING_UNDER_FJE_DEFAULTS
    # What does hold: the control forgery, notes and their isolation, scopes, health.
    assert (len(failed), len(outcomes)) == (27, 32)  # as the README says
