"""The table of figures: the services they run on, their loads, and one row per figure."""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor

from auth_service.browser import COOKIE_NAME
from auth_service.passwords import Passwords
from bench.load import TOKEN, Chain, Request, Result
from bench.report import Goal
from bench.runner import Bench, Figure, Flood, Side
from bench.services import OAUTH, PASSWORD, Service

SMALL, LARGE = 10_000, 1_000_000  # sessions in the database
PAGE = "https://app.example"  # a page of AUTH_BROWSER_ORIGINS
FLOODER, HONEST = "127.0.0.2", "127.0.0.3"  # client addresses on loopback
FLOOD_CONNECTIONS = 4

SERVICES = {
    "resource": Service("resource_service"),
    "auth-sqlite": Service("auth_service", "sqlite", SMALL, oauth_sessions=2_000,
                           env=(("AUTH_BROWSER_ORIGINS", PAGE),), user=True),
    "auth-postgresql": Service("auth_service", "postgresql", SMALL),
    "auth-sqlite-1m": Service("auth_service", "sqlite", LARGE, large=True),
    "auth-postgresql-1m": Service("auth_service", "postgresql", LARGE, large=True),
}  # fmt: skip

JSON = (("Content-Type", "application/json"),)
ME = Request("GET", "/api/me", (("Authorization", "Bearer {access_token}"),))
HEALTHZ = Request("GET", "/healthz")
WRITE = Request("POST", "/bench/write")
LOGIN = Request(
    "POST", "/auth/login", JSON, json.dumps({"username": "{username}", "password": PASSWORD})
)
WRONG = Request(
    "POST",
    "/auth/login",
    JSON,
    json.dumps({"username": "{username}", "password": "not " + PASSWORD}),
)
CHILD = '"refresh_token":%s*"([^"]+)"'
REFRESH = Chain(Request("POST", "/auth/refresh", JSON, json.dumps({"refresh_token": TOKEN})), CHILD)
OAUTH_REFRESH = Chain(
    Request("POST", "/oauth/token", (("Content-Type", "application/x-www-form-urlencoded"),),
            f"grant_type=refresh_token&refresh_token={TOKEN}&client_id={{client_id}}"),
    CHILD, client=OAUTH,
)  # fmt: skip
COOKIE_REFRESH = Chain(
    Request("POST", "/auth/refresh",
            (*JSON, ("Origin", PAGE), ("Cookie", f"{COOKIE_NAME}={TOKEN}")), "{}"),
    f"{COOKIE_NAME}=([^;]+)", child_header="Set-Cookie",
)  # fmt: skip


def cpu_per_verification(stored: str, budget: float) -> float:
    """Verify PASSWORD against *stored* for *budget* CPU seconds; return CPU seconds per verify."""
    passwords = Passwords()
    verified, started = 0, time.process_time()
    while verified < 2 or time.process_time() - started < budget:
        if not passwords.verify(stored, PASSWORD):
            raise RuntimeError("the password did not verify")
        verified += 1
    return (time.process_time() - started) / verified


def ideal_logins(bench: Bench, seconds: int) -> Result:
    """Cores ÷ CPU time of one verification with the production hasher, one process per core
    at once, as the workers verify under the login load (argon2id is memory-hard: alone on
    an idle machine one verification costs less CPU than each of several together)."""
    stored, budget = Passwords().hash(PASSWORD), min(seconds, 4) / 2
    with ProcessPoolExecutor(max_workers=bench.cores) as pool:
        costs = list(pool.map(cpu_per_verification, [stored] * bench.cores, [budget] * bench.cores))
    cost = sum(costs) / len(costs)
    bench.observe(f"ms of CPU per argon2id verification ({bench.cores} cores at once)", 1000 * cost)
    return Result(bench.cores / cost, failed=0)


def _engine_rows(engine: str, name: str) -> list[Figure]:
    auth, large = Side(f"auth-{engine}", REFRESH), Side(f"auth-{engine}-1m", REFRESH)
    rows = f"POST /auth/refresh, {LARGE:,} sessions, {name}"
    small = f"the same with {SMALL:,} sessions"
    return [
        Figure(f"refresh-{engine}", f"POST /auth/refresh (rotation), {name}", auth,
               f"POST /bench/write (1 INSERT + 1 UPDATE transaction), same app, {name}",
               Side(f"auth-{engine}", WRITE), Goal("throughput", ">=", 0.70)),
        Figure(f"rows-{engine}", f"{rows}: throughput", large, small, auth,
               Goal("throughput", ">=", 0.90)),
        Figure(f"rows-{engine}", f"{rows}: p99 latency", large, small, auth,
               Goal("p99", "<=", 1.25)),
    ]  # fmt: skip


_HEALTHZ = "GET /healthz (unprotected), same app and server"
_JSON_REFRESH = "POST /auth/refresh, JSON body, same server, SQLite"
_ALONE = f"the same user, no flood (1 client at {HONEST})"
_FOUR = "the same with 4 clients"
_FLOODED = Side("auth-sqlite", LOGIN, 1, HONEST, Flood(WRONG, FLOODER, FLOOD_CONNECTIONS))
_SIXTY_FOUR = Side("auth-sqlite", REFRESH, 64)

FIGURES = [
    Figure("me", "GET /api/me, throughput", Side("resource", ME), _HEALTHZ,
           Side("resource", HEALTHZ), Goal("throughput", ">=", 0.85)),
    Figure("me", "GET /api/me, p50 latency", Side("resource", ME), _HEALTHZ,
           Side("resource", HEALTHZ), Goal("p50", "<=", 1.30)),
    *_engine_rows("sqlite", "SQLite"),
    *_engine_rows("postgresql", "PostgreSQL"),
    Figure("login", "POST /auth/login", Side("auth-sqlite", LOGIN),
           "cores ÷ CPU time of one password verification", Side("auth-sqlite", ideal_logins),
           Goal("throughput", ">=", 0.90)),
    Figure("oauth", "POST /oauth/token, refresh_token grant, public client, SQLite",
           Side("auth-sqlite", OAUTH_REFRESH), _JSON_REFRESH, Side("auth-sqlite", REFRESH),
           Goal("throughput", ">=", 0.95)),
    Figure("cookie", f"POST /auth/refresh, cookie mode (Origin {PAGE}), SQLite",
           Side("auth-sqlite", COOKIE_REFRESH), _JSON_REFRESH, Side("auth-sqlite", REFRESH),
           Goal("throughput", ">=", 0.95)),
    Figure("fairness", f"POST /auth/login p50, 1 client at {HONEST}, while {FLOODER} floods "
           f"wrong passwords ({FLOOD_CONNECTIONS} connections)", _FLOODED, _ALONE,
           Side("auth-sqlite", LOGIN, 1, HONEST), Goal("p50", "<=", 1.50)),
    Figure("concurrency", "POST /auth/refresh, 64 clients, SQLite: p99 latency", _SIXTY_FOUR,
           _FOUR, Side("auth-sqlite", REFRESH, 4), Goal("p99", "<=", 3.0)),
    Figure("concurrency", "POST /auth/refresh, 64 clients, SQLite: throughput", _SIXTY_FOUR,
           _FOUR, Side("auth-sqlite", REFRESH, 4), Goal("throughput", ">=", 0.90)),
]  # fmt: skip
