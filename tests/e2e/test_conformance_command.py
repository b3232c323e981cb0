"""`python3 dev.py conformance` as a team runs it: the kit over HTTP against a running stack."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conformance.source_address import require_loopback_address
from tests.e2e.harness import ROOT, Stack, running_stack
from tests.e2e.proxy import running_https_stack

# A few checks of each area: the whole kit already runs in this ring (tests/conformance).
SAMPLE = "jwks or grace or alg-none or wrong-issuer or expiry or cookie or metadata"
# The browser origin the ring's stack allows, as a team's AUTH_BROWSER_ORIGINS would.
BROWSER_ORIGIN = "https://app.command.example"
ALL_AREAS = {"browser mode", "contract", "expiry", "forged tokens", "oauth", "rotation"}


@pytest.fixture(scope="module")
def sqlite_stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    auth_env = {"AUTH_BROWSER_ORIGINS": BROWSER_ORIGIN}
    with running_stack(site, tmp_path_factory.mktemp("command"), auth_env=auth_env) as running:
        yield running


def conformance(auth_url: str, resource_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the command; *args* are more kit options, then ``--`` and pytest's."""
    return subprocess.run(
        [sys.executable, "dev.py", "conformance", "--auth-url", auth_url,
         "--resource-url", resource_url, "--max-wait", "5", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def summary(run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Map each area of the command's closing summary to its verdict line."""
    lines = run.stdout.split("\nconformance of ", 1)[-1].splitlines()[1:]
    matches = (re.match(r"\s+(?:ok|FAIL)\s+(\D+?)\s+\d", line) for line in lines)
    return {match[1]: match.string.strip() for match in matches if match}


def test_the_kit_passes_against_a_running_stack_with_one_line_per_area(sqlite_stack: Stack) -> None:
    run = conformance(
        sqlite_stack.auth.url, sqlite_stack.resource.url,
        "--browser-origin", BROWSER_ORIGIN, "--", "-k", SAMPLE,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout + run.stderr
    areas = summary(run)
    assert set(areas) == ALL_AREAS, run.stdout
    assert "skipped" not in areas["browser mode"], areas
    assert all(line.startswith("ok") for line in areas.values()), areas
    # Without the issuer's key a forgery that needs a real signature is skipped, and says why.
    assert "2 skipped" in areas["forged tokens"]  # wrong-issuer, at each service
    assert "needs the issuer's private key" in run.stdout
    # The stack's 300 s tokens and 10 s grace are longer than --max-wait 5: skipped, not waited.
    assert "2 skipped" in areas["expiry"]
    assert "more than --max-wait 5 s" in run.stdout


def test_the_kit_fails_a_deployment_that_breaks_the_contract(sqlite_stack: Stack) -> None:
    # The auth service where the resource service should be: /api/me answers 404, not 401.
    run = conformance(sqlite_stack.auth.url, sqlite_stack.auth.url, "--", "-k", SAMPLE)

    assert run.returncode == 1, run.stdout + run.stderr
    assert summary(run)["forged tokens"].startswith("FAIL"), run.stdout


def test_the_compose_conformance_command_passes_against_the_stack_behind_caddy(
    site: Path, tmp_path: Path
) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = [str(part) for part in compose["services"]["conformance"]["command"]]
    for address in command[command.index("--source-addresses") + 1].split(","):
        require_loopback_address(address)
    # Compose's per-address limits (the defaults), not the ring's generous ones: the kit's
    # --source-addresses must keep it under them. Short tokens (the kit reads expires_in), but
    # not 2 s: on a loaded machine a contract check would meet its own token expired.
    defaults = {"AUTH_ADDRESS_MAX_REGISTRATIONS": "20", "AUTH_ADDRESS_MAX_LOGINS": "30"}
    # Compose's browser origin (the demo page's), which the command's --browser-origin names.
    origins = compose["services"]["auth"]["environment"]["AUTH_BROWSER_ORIGINS"]
    assert command[command.index("--browser-origin") + 1] == origins
    auth_env = {**defaults, "AUTH_ACCESS_TOKEN_TTL": "10", "AUTH_BROWSER_ORIGINS": origins}
    with running_https_stack(site, tmp_path, auth_env=auth_env) as edge:
        # The same command line; only the stack's addresses and CA are this test's.
        mine = {
            "--auth-url": edge.proxy.auth_url,
            "--resource-url": edge.proxy.resource_url,
            "--ca-file": str(edge.ca_file),
        }
        for option, value in mine.items():
            command[command.index(option) + 1] = value
        assert command[:3] == ["python", "-m", "tests.conformance"]
        run = subprocess.run(
            [sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300
        )

    assert run.returncode == 0, run.stdout + run.stderr
    areas = summary(run)
    assert set(areas) == ALL_AREAS, run.stdout
    assert all(line.startswith("ok") for line in areas.values()), areas
    assert "skipped" not in areas["expiry"], areas
    assert "skipped" not in areas["browser mode"], areas
