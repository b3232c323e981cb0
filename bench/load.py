"""Load generators: wrk when it is installed, else a Python one; both closed loop, on loopback.

A run keeps *connections* requests in flight for *duration* seconds and reports the successful
requests per second and their latency percentiles. Any failed request is counted, never hidden.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import shutil
import statistics
import subprocess
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

# Lead time for the Python generator's processes to start before the clock runs.
SPAWN_LEAD_SECONDS = 0.5
REQUEST_TIMEOUT_SECONDS = 10
# One wrk thread drives a few thousand requests per second: all the services manage here.
WRK_THREADS = 1


@dataclass(frozen=True)
class Request:
    """One fixed request, sent again and again."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class RefreshChain:
    """POST /auth/refresh presenting each token once; the child it returns goes back in the pool.

    ``tokens`` is the live pool: after a run it holds the unused tokens and the new children,
    so runs can follow each other on the same sessions. A request cut off by the end of a run
    loses its session for the pool, so the pool must be much larger than the connections.
    """

    path: str
    tokens: list[str]


Load = Request | RefreshChain


@dataclass(frozen=True)
class Result:
    """What one run measured."""

    ok: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        """Return the successful requests per second."""
        return self.ok / self.seconds


class Generator(Protocol):
    """Something that drives one URL with one kind of load for a while."""

    description: str

    def run(self, base_url: str, load: Load, duration: int, connections: int) -> Result:
        """Keep *connections* requests in flight for *duration* seconds; return what it saw."""
        ...


def choose_generator(kind: str, workdir: Path) -> Generator:
    """Return wrk if asked for or found on PATH ("auto"), else the Python generator."""
    executable = shutil.which("wrk")
    if kind == "wrk" and executable is None:
        raise SystemExit("--load wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if kind in ("wrk", "auto") and executable is not None:
        return Wrk(executable, workdir)
    return PythonGenerator()


# wrk ----------------------------------------------------------------------------------------

# Printed by every script when wrk finishes; latencies in microseconds.
_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %.1f, "p99_us": %.1f}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
  {save_pool}
end
"""

_REFRESH = """
local threads = {{}}
local nthreads, path, pool_in, pool_out = {nthreads}, {path}, {pool_in}, {pool_out}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  -- Each thread takes every n-th token of the pool file.
  queue, head, tail = {{}}, 1, 0
  local i = 0
  for line in io.lines(pool_in) do
    if i % nthreads == id then
      tail = tail + 1
      queue[tail] = line
    end
    i = i + 1
  end
end

function request()
  local token = queue[head] or "pool-exhausted"
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", path, {{["Content-Type"] = "application/json"}},
                    '{{"refresh_token": "' .. token .. '"}}')
end

function response(status, headers, body)
  if status == 200 then
    local child = body:match('"refresh_token":%s*"([^"]+)"')
    if child then
      tail = tail + 1
      queue[tail] = child
    end
  end
end

function save_pool()
  local out = io.open(pool_out, "w")
  for _, thread in ipairs(threads) do
    local q, first, last = thread:get("queue"), thread:get("head"), thread:get("tail")
    for i = first, last do
      if q[i] then out:write(q[i], "\\n") end
    end
  end
  out:close()
end
"""


def _lua_string(value: str) -> str:
    # Our values are ASCII (paths, headers, tokens), where a JSON string is a valid Lua string.
    if not value.isascii() or not value.isprintable():
        raise ValueError(f"not a printable ASCII string: {value!r}")
    return json.dumps(value)


class Wrk:
    """wrk (one thread, epoll): a few percent of a core, so the services keep the machine."""

    def __init__(self, executable: str, workdir: Path) -> None:
        self._executable = executable
        self._workdir = workdir
        version = subprocess.run([executable, "-v"], capture_output=True, text=True).stdout
        self.description = version.split(" [")[0].strip() or "wrk"

    def run(self, base_url: str, load: Load, duration: int, connections: int) -> Result:
        script = self._workdir / "load.lua"
        pool_in, pool_out = self._workdir / "pool.in", self._workdir / "pool.out"
        if isinstance(load, Request):
            script.write_text(_fixed_script(load))
        else:
            pool_in.write_text("".join(f"{token}\n" for token in load.tokens))
            pool_out.unlink(missing_ok=True)
            script.write_text(
                _REFRESH.format(
                    nthreads=WRK_THREADS,
                    path=_lua_string(load.path),
                    pool_in=_lua_string(str(pool_in)),
                    pool_out=_lua_string(str(pool_out)),
                )
                + _DONE.replace("{save_pool}", "save_pool()")
            )
        command = [
            self._executable, "--threads", str(WRK_THREADS), "--connections", str(connections),
            "--duration", f"{duration}s", "--timeout", f"{REQUEST_TIMEOUT_SECONDS}s",
            "--script", str(script), base_url,
        ]  # fmt: skip
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
        lines = [line for line in completed.stdout.splitlines() if line.startswith("BENCH ")]
        if completed.returncode != 0 or not lines:
            raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stderr}")
        report = json.loads(lines[-1].removeprefix("BENCH "))
        if isinstance(load, RefreshChain):
            load.tokens[:] = pool_out.read_text().split()
        failed = report["non2xx"] + report["socket_errors"]
        return Result(
            ok=report["requests"] - report["non2xx"],
            failed=failed,
            seconds=report["duration_us"] / 1e6,
            p50_ms=report["p50_us"] / 1000,
            p99_ms=report["p99_us"] / 1000,
        )


def _fixed_script(request: Request) -> str:
    lines = [
        f"wrk.method = {_lua_string(request.method)}",
        f"wrk.path = {_lua_string(request.path)}",
    ]
    if request.body is not None:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    return "\n".join(lines) + "\n" + _DONE.replace("{save_pool}", "")


# Python -------------------------------------------------------------------------------------


class PythonGenerator:
    """One process per connection, each a blocking http.client loop: slower than wrk, and it
    takes CPU from the services, so ratios come out closer to 1 than wrk's."""

    description = "Python generator (http.client, one process per connection)"

    def run(self, base_url: str, load: Load, duration: int, connections: int) -> Result:
        url = urlsplit(base_url)
        assert url.hostname is not None and url.port is not None
        start_at = time.time() + SPAWN_LEAD_SECONDS
        pools: list[list[str] | None]
        if isinstance(load, Request):
            request, pools = load, [None] * connections
        else:
            request = Request("POST", load.path, {"Content-Type": "application/json"})
            pools = [load.tokens[i::connections] for i in range(connections)]
        jobs = [(url.hostname, url.port, request, pool, start_at, duration) for pool in pools]
        # spawn: a fresh interpreter per client, whatever state this process is in.
        with multiprocessing.get_context("spawn").Pool(connections) as workers:
            outcomes = workers.starmap(_client, jobs)
        latencies = [latency for _, latencies, _ in outcomes for latency in latencies]
        if isinstance(load, RefreshChain):
            load.tokens[:] = [token for _, _, pool in outcomes for token in (pool or [])]
        return Result(
            ok=len(latencies),
            failed=sum(failed for failed, _, _ in outcomes),
            seconds=float(duration),
            p50_ms=_percentile(latencies, 50),
            p99_ms=_percentile(latencies, 99),
        )


def _client(
    host: str, port: int, request: Request, tokens: list[str] | None, start_at: float, duration: int
) -> tuple[int, list[float], list[str] | None]:
    """Send requests back to back on one connection; return failures, latencies (ms), pool."""
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_SECONDS)
    pool = deque(tokens) if tokens is not None else None
    latencies: list[float] = []
    failed = 0
    time.sleep(max(0.0, start_at - time.time()))
    end = start_at + duration
    while time.time() < end:
        body = request.body
        if pool is not None:
            if not pool:
                failed += 1
                break
            body = json.dumps({"refresh_token": pool.popleft()})
        started = time.perf_counter()
        try:
            connection.request(request.method, request.path, body=body, headers=request.headers)
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            failed += 1
            connection.close()
            continue
        elapsed_ms = (time.perf_counter() - started) * 1000
        ok = 200 <= response.status < 300
        if ok and pool is not None:
            pool.append(json.loads(payload)["refresh_token"])
        if time.time() > end:
            break  # finished after the window closed: not part of this run
        if ok:
            latencies.append(elapsed_ms)
        else:
            failed += 1
    connection.close()
    return failed, latencies, list(pool) if pool is not None else None


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
