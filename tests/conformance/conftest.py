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


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tokenpair conformance")
    group.addoption("--auth-url", help="base URL of the auth service under test")
    group.addoption("--resource-url", help="base URL of the resource service under test")
    group.addoption("--ca-file", help="CA bundle (PEM) to trust for HTTPS, e.g. Caddy's root")


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
    return Deployment(auth_url.rstrip("/"), resource_url.rstrip("/"), verify=ca_file or True)


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

    site = request.getfixturevalue("site")
    with running_stack(site, tmp_path_factory.mktemp("kit"), request.param) as stack:
        yield Deployment(
            stack.auth.url, stack.resource.url, keys_dir=stack.auth.workdir / "var" / "keys"
        )
