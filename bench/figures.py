"""The figures of the benchmark: each plans its services, then measures its two sides in pairs."""

from __future__ import annotations

import json
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from auth_service.keystore import KeyRing, KeyStore
from auth_service.passwords import Passwords
from auth_service.settings import ALL_SCOPES, Settings
from auth_service.tokens import FIRST_PARTY_CLIENT_ID, AccessTokenIssuer
from bench.apps import create_bench_table
from bench.load import Generator, Load, RefreshChain, Request
from bench.report import Measure, Metric, Pairs, Row, Sample, interleave
from bench.seed import seed_sessions
from bench.stack import Databases, FlaskCommand, Server, service_env
from shared.db import utcnow

PASSWORD = "correct horse battery staple"
# Refresh tokens kept per database: each is presented once per pass, its child goes back in.
REFRESH_POOL = 2_000
SMALL_TABLE = 10_000
LARGE_TABLE = 1_000_000
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

# The load generator is one client address hammering login and refresh: the per-address
# limits (AUTH_ADDRESS_*) are for abuse, not for a benchmark, so they are set out of reach.
UNLIMITED_LOAD = {
    "AUTH_ADDRESS_MAX_LOGIN_FAILURES": "1000000000",
    "AUTH_ADDRESS_MAX_LOGINS": "1000000000",
    "AUTH_ADDRESS_MAX_REFRESHES": "1000000000",
    "AUTH_ADDRESS_MAX_REGISTRATIONS": "1000000000",
}


@dataclass(frozen=True)
class Bench:
    """Everything a figure needs: how to load, how long, and where to put its files."""

    generator: Generator
    runs: int
    duration: int
    warmup: int
    workers: int
    connections: int
    cores: int
    quick: bool
    folder: Path
    keys_dir: Path
    databases: Databases
    notes: list[str]

    def note(self, text: str) -> None:
        """Add a line under the table, and show it now."""
        self.notes.append(text)
        progress(text)

    def measure(self, url: str, load: Load) -> Measure:
        """Return a run of *load* against *url* for a given number of seconds."""
        return lambda seconds: Sample.of(self.generator.run(url, load, seconds, self.connections))

    def pairs(self, a: Measure, b: Measure) -> Pairs:
        """Measure A and B interleaved."""
        return interleave(a, b, runs=self.runs, duration=self.duration, warmup=self.warmup)

    @property
    def jwks_file(self) -> Path:
        return self.folder / "jwks.json"

    def env(self, **settings: str) -> dict[str, str]:
        """Return a service environment with the bench's signing keys and *settings*."""
        return service_env(
            self.workers, {"AUTH_KEYS_DIR": str(self.keys_dir), **UNLIMITED_LOAD, **settings}
        )

    def database(self, engine: str, name: str) -> str:
        """Return the URL of a new, empty database of *engine*."""
        if engine == "sqlite":
            return self.databases.sqlite(name)
        return self.databases.postgres(name)


_STARTED = time.monotonic()


def cpu_per_verification(stored: str, budget: float) -> float:
    """Verify PASSWORD against *stored* for *budget* CPU seconds; return CPU seconds per verify."""
    passwords = Passwords()
    verified, started = 0, time.process_time()
    while verified < 2 or time.process_time() - started < budget:
        if not passwords.verify(stored, PASSWORD):
            raise RuntimeError("the password did not verify")
        verified += 1
    return (time.process_time() - started) / verified


def progress(text: str) -> None:
    """Tell the person waiting what is happening (stderr: stdout is the table)."""
    print(f"[bench {time.monotonic() - _STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


@dataclass
class Plan:
    """What a figure needs before it measures: migrations, then seeding, then its servers.

    The bench runs every figure's migrations side by side, seeds, starts every server, then
    measures the figures one after the other (an idle gunicorn takes no CPU from the others).
    """

    migrations: list[FlaskCommand]
    servers: list[Server]
    measure: Callable[[], Pairs]
    seed: Callable[[], None] = lambda: None


def upgrade(app: str, env: dict[str, str]) -> FlaskCommand:
    """Return ``flask --app <app> db upgrade``, as every deployment runs it before starting."""
    return FlaskCommand(app, ("db", "upgrade"), env)


def expect(response: requests.Response, status: int) -> None:
    """Stop the figure at once if the service does not answer as the contract says."""
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} "
            f"{response.text[:200]}"
        )


# GET /api/me against GET /healthz -----------------------------------------------------------


def bearer_plan(bench: Bench) -> Plan:
    """GET /api/me with a valid token, against the resource service's unprotected /healthz."""
    env = bench.env(
        RESOURCE_DATABASE_URL=bench.database("sqlite", "resource"),
        RESOURCE_PUBLIC_KEY_FILE=str(bench.jwks_file),
    )
    server = Server("resource", "resource_service:create_app()", env, bench.folder)

    def measure() -> Pairs:
        me = Request("GET", "/api/me", {"Authorization": f"Bearer {access_token(bench.keys_dir)}"})
        expect(requests.get(server.url + me.path, headers=me.headers, timeout=5), 200)
        return bench.pairs(
            bench.measure(server.url, me), bench.measure(server.url, Request("GET", "/healthz"))
        )

    return Plan([upgrade("resource_service", env)], [server], measure)


def access_token(keys_dir: Path) -> str:
    """Return an access token signed by the auth service's own issuer code, valid for an hour."""
    settings = Settings.from_env({"AUTH_KEYS_DIR": str(keys_dir)})  # issuer, audience: defaults
    issuer = AccessTokenIssuer(
        KeyRing(KeyStore(keys_dir)),
        issuer=settings.issuer,
        audience=settings.audience,
        ttl=timedelta(hours=1),
    )
    return issuer.issue(
        subject=uuid.uuid4().hex,
        scope=" ".join(ALL_SCOPES),
        client_id=FIRST_PARTY_CLIENT_ID,
        session_id=secrets.token_hex(16),
        now=utcnow(),
    )


# POST /auth/refresh against POST /bench/write -----------------------------------------------


def refresh_plan(bench: Bench, engine: str) -> Plan:
    """Refresh (rotation) against one INSERT + one UPDATE transaction, in the same app."""
    url = bench.database(engine, "refresh")
    env = bench.env(AUTH_DATABASE_URL=url)
    server = Server(f"auth-{engine}", "bench.apps:create_auth_app()", env, bench.folder)
    chain = RefreshChain("/auth/refresh", [])

    def seed() -> None:
        sessions = SMALL_TABLE // 10 if bench.quick else SMALL_TABLE
        chain.tokens[:] = seed_sessions(url, sessions, REFRESH_POOL)
        create_bench_table(url, datetime.now(UTC))

    def measure() -> Pairs:
        return bench.pairs(
            bench.measure(server.url, chain),
            bench.measure(server.url, Request("POST", "/bench/write")),
        )

    return Plan([upgrade("auth_service", env)], [server], measure, seed)


# Refresh with 1,000,000 sessions against 10,000 ---------------------------------------------


def table_size_plan(bench: Bench, engine: str) -> Plan:
    """Refresh on a table of LARGE_TABLE sessions against one of SMALL_TABLE."""
    sizes = (LARGE_TABLE, SMALL_TABLE)
    urls = {size: bench.database(engine, f"sessions{size}") for size in sizes}
    envs = {size: bench.env(AUTH_DATABASE_URL=url) for size, url in urls.items()}
    servers = {
        size: Server(f"auth-{engine}-{size}", "auth_service:create_app()", env, bench.folder)
        for size, env in envs.items()
    }
    chains = {size: RefreshChain("/auth/refresh", []) for size in sizes}

    def seed() -> None:
        for size in sizes:
            started = time.monotonic()
            chains[size].tokens[:] = seed_sessions(urls[size], size, REFRESH_POOL)
            if size == LARGE_TABLE:
                bench.note(
                    f"seeding {size:,} sessions with their refresh tokens took "
                    f"{time.monotonic() - started:.0f} s on {ENGINES[engine]}"
                )

    def measure() -> Pairs:
        return bench.pairs(
            bench.measure(servers[LARGE_TABLE].url, chains[LARGE_TABLE]),
            bench.measure(servers[SMALL_TABLE].url, chains[SMALL_TABLE]),
        )

    migrations = [upgrade("auth_service", env) for env in envs.values()]
    return Plan(migrations, list(servers.values()), measure, seed)


# POST /auth/login against cores / CPU time of one verification ------------------------------


def login_plan(bench: Bench) -> Plan:
    """Logins per second under gunicorn, against what the cores could verify at best."""
    env = bench.env(AUTH_DATABASE_URL=bench.database("sqlite", "login"))
    server = Server("auth-login", "auth_service:create_app()", env, bench.folder)
    credentials = {"username": f"bench-{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    login = Request(
        "POST", "/auth/login", {"Content-Type": "application/json"}, json.dumps(credentials)
    )
    # The production hasher with its defaults (argon2-cffi's RFC 9106 profile), unchanged.
    passwords = Passwords()
    stored = passwords.hash(PASSWORD)

    def ideal(seconds: int) -> Sample:
        # One verifying process per core, all at once, as the workers run under the login load:
        # argon2id is memory-hard, and one verification alone on an idle machine costs less CPU
        # than each of several sharing the memory bus (and the cores' clock boost).
        budget = min(seconds, 4) / 2  # CPU seconds each: enough verifications for a steady mean
        with ProcessPoolExecutor(max_workers=bench.cores) as pool:
            costs = list(
                pool.map(cpu_per_verification, [stored] * bench.cores, [budget] * bench.cores)
            )
        return Sample(throughput=bench.cores / (sum(costs) / len(costs)))

    def measure() -> Pairs:
        expect(requests.post(f"{server.url}/auth/register", json=credentials, timeout=10), 201)
        pairs = bench.pairs(bench.measure(server.url, login), ideal)
        cpu_ms = [1000 * bench.cores / sample.throughput for sample in pairs[1]]
        bench.note(
            f"one argon2id verification with the production parameters took "
            f"{min(cpu_ms):.0f}–{max(cpu_ms):.0f} ms of CPU time; {bench.cores} cores"
        )
        return pairs

    return Plan([upgrade("auth_service", env)], [server], measure)


# The figures, in the order of the table -----------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A named comparison: how to measure its pairs, and the rows (goals) they fill."""

    name: str
    plan: Callable[[Bench], Plan]
    metrics: tuple[Metric, ...]
    engine: str = "sqlite"
    large: bool = False  # skipped by --quick

    def rows(self, pairs: Pairs) -> list[Row]:
        """Return one row per metric of the measured pairs."""
        return [metric.row(pairs) for metric in self.metrics]

    def skipped(self, reason: str) -> list[Row]:
        """Return the rows, each marked skipped for *reason*."""
        return [metric.skipped(reason) for metric in self.metrics]


def _refresh(engine: str) -> Figure:
    name = ENGINES[engine]
    return Figure(
        f"refresh-{engine}",
        lambda bench: refresh_plan(bench, engine),
        (
            Metric(
                f"POST /auth/refresh (rotation), {name}",
                f"POST /bench/write (1 INSERT + 1 UPDATE transaction), same app, {name}",
                "throughput", "req/s", ">=", 0.70,
            ),
        ),
        engine=engine,
    )  # fmt: skip


def _table_size(engine: str) -> Figure:
    name, against = ENGINES[engine], f"the same with {SMALL_TABLE:,} sessions"
    label = f"POST /auth/refresh, {LARGE_TABLE:,} sessions, {name}"
    return Figure(
        f"rows-{engine}",
        lambda bench: table_size_plan(bench, engine),
        (
            Metric(f"{label}: throughput", against, "throughput", "req/s", ">=", 0.90),
            Metric(f"{label}: p99 latency", against, "p99", "ms", "<=", 1.25),
        ),
        engine=engine,
        large=True,
    )


_HEALTHZ = "GET /healthz (unprotected), same app and server"

FIGURES = [
    Figure(
        "me",
        bearer_plan,
        (
            Metric("GET /api/me, throughput", _HEALTHZ, "throughput", "req/s", ">=", 0.85),
            Metric("GET /api/me, p50 latency", _HEALTHZ, "p50", "ms", "<=", 1.3),
        ),
    ),
    _refresh("sqlite"),
    _refresh("postgresql"),
    _table_size("sqlite"),
    _table_size("postgresql"),
    Figure(
        "login",
        login_plan,
        (
            Metric(
                "POST /auth/login",
                "cores ÷ CPU time of one password verification",
                "throughput",
                "logins/s",
                ">=",
                0.90,
            ),
        ),
    ),  # fmt: skip
]
