"""The README's curl walkthrough, run verbatim with bash against a live stack."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT, Stack, make_stack

MARKER = "<!-- walkthrough -->"
# The retry of step 6 must come within the grace window, on a loaded machine too (step 5
# makes one more call in between); step 7 then sleeps GRACE + 1 s.
GRACE = "3"
PAGE = "http://localhost:8003"  # the walkthrough's default PAGE, the quickstart's demo origin


def walkthrough_script(readme: Path = ROOT / "README.md") -> str:
    """Return the ```sh block that follows the walkthrough marker line in the README."""
    lines = readme.read_text().splitlines()
    start = lines.index(MARKER) + 1
    assert lines[start] == "```sh", f"the line after {MARKER} must open a ```sh block"
    end = lines.index("```", start + 1)
    return "\n".join(lines[start + 1 : end]) + "\n"


@pytest.fixture
def quick_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack with 2 s access tokens, a 3 s reuse grace and no leeway: the walkthrough, fast."""
    running = make_stack(
        site,
        tmp_path / "work",
        auth_env={
            "AUTH_ACCESS_TOKEN_TTL": "2",
            "AUTH_REFRESH_REUSE_GRACE": GRACE,
            "AUTH_BROWSER_ORIGINS": PAGE,
        },
        resource_env={"RESOURCE_LEEWAY": "0"},
    )
    yield running
    running.stop()


def test_the_readme_walkthrough_runs_verbatim(quick_stack: Stack, tmp_path: Path) -> None:
    for tool in ("bash", "curl", "python3"):
        assert shutil.which(tool), f"the README walkthrough needs {tool} on PATH"
    script = tmp_path / "walkthrough.sh"
    script.write_text(walkthrough_script())
    env = {
        **os.environ,
        "AUTH": quick_stack.auth.url,
        "RESOURCE": quick_stack.resource.url,
        "GRACE": GRACE,
        "LEEWAY": "0",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    output = result.stdout
    assert result.returncode == 0, f"exit {result.returncode}\n{output}\n{result.stderr}"
    assert result.stderr == "", result.stderr

    def step(number: int) -> str:
        """Return the output of one numbered step of the walkthrough."""
        after = output.split(f"== {number}. ", 1)[1]
        return after.split(f"== {number + 1}. ", 1)[0]

    assert '"username":"alice-' in step(1)
    assert '"scope":"notes:read notes:write"' in step(3)
    assert '"text":"my first note"' in step(3)

    expired = step(4)
    assert "HTTP/1.1 401" in expired
    assert (
        'WWW-Authenticate: Bearer realm="tokenpair", error="invalid_token", '
        'error_description="The access token expired"'
    ) in expired

    assert '"text":"my first note"' in step(5)
    assert "same new refresh token as in step 5: yes" in step(6)

    reuse = step(7)
    assert "its session has been revoked" in reuse
    assert reuse.count('"error":"invalid_grant"') == 2
    assert reuse.count("HTTP 401") == 2

    logout = step(8).splitlines()
    assert "HTTP 204" in logout
    assert logout[-1] == "HTTP 401"
    assert '"error":"invalid_grant"' in logout[-2]

    login = step(9)
    assert "tokenpair_refresh=<token>;" in login
    for attribute in ("Secure", "HttpOnly", "Path=/auth", "SameSite=Strict"):
        assert attribute in login
    assert "body: access_token, expires_in, scope, token_type" in login
    assert "HTTP 200" in step(10) and "cookie rotated: yes" in step(10)
    foreign = step(11).splitlines()
    assert '"error":"invalid_origin"' in step(11) and "HTTP 403" in step(11)
    assert foreign[-1] == "HTTP 200"  # the refused logout changed nothing: the cookie still works
    browser_logout = step(12).splitlines()
    assert browser_logout[1] == "HTTP 204"
    assert "cookies left in the jar: 0" in browser_logout
    assert browser_logout[-1] == "HTTP 401"
    assert '"error":"invalid_grant"' in browser_logout[-2]
