"""The load: wrk, closed loop on loopback; and a few Python clients where wrk cannot serve.

A run keeps *connections* requests in flight for *duration* seconds and reports the successful
requests per second and their latency percentiles. Any failed request is counted, never hidden.
wrk cannot choose its source address, so a load from a given client address (the fairness
figure) runs on ``run_from``: Python threads, each connection bound to that address.
"""

from __future__ import annotations

import http.client
import json
import math
import shutil
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

REQUEST_TIMEOUT_SECONDS = 10
# One wrk thread drives a few thousand requests per second: all the services manage here.
WRK_THREADS = 1
TOKEN = "{token}"  # where a chain puts the refresh token it presents

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    """One request sent again and again; ``{name}`` in headers and body is filled in by bind."""

    method: str
    path: str
    headers: Headers = ()
    body: str | None = None

    def bind(self, values: dict[str, str]) -> Request:
        """Return the request with every ``{name}`` of *values* replaced by its value."""

        def fill(text: str) -> str:
            for name, value in values.items():
                text = text.replace(f"{{{name}}}", value)
            return text

        body = None if self.body is None else fill(self.body)
        return replace(self, headers=tuple((k, fill(v)) for k, v in self.headers), body=body)


@dataclass(frozen=True)
class Chain:
    """A refresh: each token presented once (at ``{token}``); the child it answers goes back in.

    The child is the first capture of the Lua pattern *child* in the body, or in the header
    *child_header* when one is named.
    """

    request: Request
    child: str
    child_header: str | None = None
    client: str = "first-party"  # whose sessions the tokens are (bench.services.FIRST_PARTY)


@dataclass
class Pool:
    """A chain and its live tokens: after a run it holds the unused tokens and the children,
    so runs can follow each other. A request cut off by the end of a run loses its session
    for the pool, so the pool must be much larger than the connections."""

    chain: Chain
    tokens: list[str]


Load = Request | Pool


@dataclass(frozen=True)
class Result:
    """What one run measured."""

    throughput: float  # successful requests per second
    failed: int
    p50_ms: float = math.nan
    p99_ms: float = math.nan


# wrk ----------------------------------------------------------------------------------------

_WRK = """
-- queue, head and tail are globals: done() reads them from each thread (thread:get).
-- Every thread reads the whole pool, which is why WRK_THREADS stays 1.
local threads, pool_in, pool_out = {{}}, {pool_in}, {pool_out}
queue, head, tail = {{}}, 1, 0
function setup(thread) table.insert(threads, thread) end
function init(args)
  if pool_in == "" then return end
  for line in io.lines(pool_in) do tail = tail + 1; queue[tail] = line end
end
function request()
  local token = queue[head] or "pool-exhausted"
  queue[head] = nil
  head = head + 1
  return wrk.format({method}, {path}, {{{headers}}}, {body})
end
{response}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %.1f, "p99_us": %.1f}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
  if pool_out == "" then return end
  local out = io.open(pool_out, "w")
  for _, thread in ipairs(threads) do
    local q, first, last = thread:get("queue"), thread:get("head"), thread:get("tail")
    for i = first, last do if q[i] then out:write(q[i], "\\n") end end
  end
  out:close()
end
"""

_CHILD = """
function response(status, headers, body)
  if status ~= 200 then return end
  local child = ({source}):match({pattern})
  if child then tail = tail + 1; queue[tail] = child end
end
"""


def _lua(text: str) -> str:
    """Return a Lua expression for *text*, the token variable wherever ``{token}`` stands."""
    # Our values are ASCII (paths, headers, tokens), where a JSON string is a valid Lua string.
    if not text.isascii() or not text.isprintable():
        raise ValueError(f"not a printable ASCII string: {text!r}")
    return " .. token .. ".join(json.dumps(part) for part in text.split(TOKEN))


class Wrk:
    """wrk (one thread, epoll): a few percent of a core, so the services keep the machine."""

    def __init__(self, workdir: Path) -> None:
        executable = shutil.which("wrk")
        if executable is None:
            raise SystemExit("the benchmark needs wrk on PATH (Debian: apt-get install wrk)")
        self._executable, self._workdir = executable, workdir
        version = subprocess.run([executable, "-v"], capture_output=True, text=True).stdout
        self.description = version.split(" [")[0].strip() or "wrk"

    def run(self, base_url: str, load: Load, duration: float, connections: int) -> Result:
        """Keep *connections* requests in flight for *duration* seconds; return what it saw."""
        script = self._workdir / "load.lua"
        pool_in, pool_out = self._workdir / "pool.in", self._workdir / "pool.out"
        request = load.chain.request if isinstance(load, Pool) else load
        response, pools = "", ("", "")
        if isinstance(load, Pool):
            chain = load.chain
            source_text = (
                f'(headers["{chain.child_header}"] or "")' if chain.child_header else "body"
            )
            response = _CHILD.format(source=source_text, pattern=json.dumps(chain.child))
            pool_in.write_text("".join(f"{token}\n" for token in load.tokens))
            pool_out.unlink(missing_ok=True)
            pools = (str(pool_in), str(pool_out))
        script.write_text(
            _WRK.format(
                pool_in=json.dumps(pools[0]), pool_out=json.dumps(pools[1]),
                method=_lua(request.method), path=_lua(request.path),
                headers=", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in request.headers),
                body="nil" if request.body is None else _lua(request.body), response=response,
            )
        )  # fmt: skip
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
        if isinstance(load, Pool):
            load.tokens[:] = pool_out.read_text().split()
        return Result(
            (report["requests"] - report["non2xx"]) / (report["duration_us"] / 1e6),
            report["non2xx"] + report["socket_errors"],
            report["p50_us"] / 1000,
            report["p99_us"] / 1000,
        )


# Clients at a source address ---------------------------------------------------------------


def run_from(
    source: str, base_url: str, request: Request, duration: float, connections: int
) -> Result:
    """Run *connections* closed-loop clients bound to the loopback address *source* (wrk cannot
    choose its own): threads of blocking http.client, for loads of a few hundred requests per
    second at most, such as logins. Only answers that arrive within *duration* count."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None
    end = time.monotonic() + duration

    def client() -> tuple[int, list[float]]:
        connection = http.client.HTTPConnection(
            url.hostname or "",
            url.port,
            timeout=REQUEST_TIMEOUT_SECONDS,
            source_address=(source, 0),
        )
        failed, latencies = 0, []
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                connection.request(
                    request.method, request.path, request.body, dict(request.headers)
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                continue
            if time.monotonic() > end:
                break  # finished after the window closed: not part of this run
            if 200 <= response.status < 300:
                latencies.append((time.monotonic() - started) * 1000)
            else:
                failed += 1
        connection.close()
        return failed, latencies

    with ThreadPoolExecutor(connections) as pool:
        outcomes = list(pool.map(lambda _: client(), range(connections)))
    latencies = [latency for _, some in outcomes for latency in some]
    result = Result(len(latencies) / duration, sum(failed for failed, _ in outcomes))
    if not latencies:
        return result
    # quantiles needs two values: one answer is its own every percentile.
    percentiles = statistics.quantiles(latencies * 2, n=100, method="inclusive")
    return replace(result, p50_ms=percentiles[49], p99_ms=percentiles[98])
