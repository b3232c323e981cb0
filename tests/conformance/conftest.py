"""The kit's one fixture: a deployment given on the command line, else a stack the ring starts.

`pytest tests/conformance --auth-url URL --resource-url URL [--ca-file F]` checks any running
deployment over HTTP (what `python3 dev.py conformance` does); without the URLs the same tests
run in the e2e ring against real processes started here, once per database engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.deployment import Deployment

RESOURCE_SERVER_MARKER = (
    "resource_server: a check of the resource service alone, the auth service only issuing the"
    " tokens it uses (`--resource-server-only` runs just these, e.g. against your own service)"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", RESOURCE_SERVER_MARKER)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tokenpair conformance")
    group.addoption("--auth-url", help="base URL of the auth service under test")
    group.addoption("--resource-url", help="base URL of the resource service under test")
    group.addoption("--ca-file", help="CA bundle (PEM) to trust for HTTPS, e.g. Caddy's root")
    group.addoption(
        "--source-addresses",
        default="",
        help="comma-separated loopback addresses to send from in turn (per-address limits)",
    )
    group.addoption(
        "--issuer-keys-dir",
        help="a folder of the issuer's <kid>.pem private keys, when you hold them: the forgeries"
        " that need a real signature run instead of being skipped",
    )
    group.addoption(
        "--browser-origin",
        help="one of the deployment's AUTH_BROWSER_ORIGINS: the browser-mode checks run from it",
    )
    group.addoption(
        "--grace", type=float, default=10.0, help="the refresh reuse grace, s (default 10)"
    )
    group.addoption(
        "--leeway", type=float, default=5.0, help="the resource service's leeway, s (default 5)"
    )
    group.addoption(
        "--max-wait",
        type=float,
        default=20.0,
        help="longest a check may wait for a token or grace window to run out, s (default 20);"
        " longer ones are skipped",
    )


def _given(config: pytest.Config) -> Deployment | None:
    auth_url = config.getoption("--auth-url", default=None)
    resource_url = config.getoption("--resource-url", default=None)
    if not auth_url and not resource_url:
        return None
    if not (auth_url and resource_url):
        raise pytest.UsageError("give both --auth-url and --resource-url, or neither")
    ca_file = config.getoption("--ca-file", default=None)
    if ca_file and not Path(ca_file).is_file():
        raise pytest.UsageError(f"--ca-file {ca_file}: no such file")
    keys_dir = config.getoption("--issuer-keys-dir", default=None)
    if keys_dir and not Path(keys_dir).is_dir():
        raise pytest.UsageError(f"--issuer-keys-dir {keys_dir}: no such folder")
    return Deployment(
        auth_url.rstrip("/"),
        resource_url.rstrip("/"),
        verify=ca_file or True,
        keys_dir=Path(keys_dir) if keys_dir else None,
        grace=config.getoption("--grace"),
        leeway=config.getoption("--leeway"),
        max_wait=config.getoption("--max-wait"),
        browser_origin=config.getoption("--browser-origin", default=None) or None,
        source_addresses=tuple(
            address for address in config.getoption("--source-addresses").split(",") if address
        ),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployment" not in metafunc.fixturenames:
        return
    if _given(metafunc.config) is not None:
        metafunc.parametrize("deployment", ["given"], indirect=True, scope="module")
    else:
        from tests.e2e.harness import ENGINES

        metafunc.parametrize("deployment", ENGINES, indirect=True, scope="module")


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """The deployment under test: one per module, shared by its tests (each uses fresh users)."""
    given = _given(request.config)
    if given is not None:
        yield given
        return
    from tests.e2e.harness import running_stack

    # A module may ask the ring for other settings (short tokens, a short grace window), as a
    # team would point the kit at a deployment configured so.
    auth_env, resource_env = getattr(request.module, "RING_SETTINGS", ({}, {}))
    site = request.getfixturevalue("site")
    workdir = tmp_path_factory.mktemp("kit")
    with running_stack(
        site, workdir, request.param, auth_env=auth_env, resource_env=resource_env
    ) as stack:
        yield Deployment(
            stack.auth.url,
            stack.resource.url,
            keys_dir=stack.auth.workdir / "var" / "keys",
            grace=float(auth_env.get("AUTH_REFRESH_REUSE_GRACE", 10)),
            leeway=float(resource_env.get("RESOURCE_LEEWAY", 5)),
            browser_origin=auth_env.get("AUTH_BROWSER_ORIGINS", "").split(",")[0] or None,
        )
