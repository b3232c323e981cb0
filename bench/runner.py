"""Sides and figures, and how a run measures them: every distinct pair of sides once, in turns.

A figure is one row of the table: side A against side B, one statistic of each, and the goal
of their ratio. Rows that name the same two sides share one measurement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from bench.load import Chain, Load, Pool, Request, Result, Wrk, run_from
from bench.report import Goal, Measure, Pairs, Row, interleave, progress
from bench.services import Running, Service

FLOOD_LEAD_SECONDS = 1.0  # the flood runs this long before and after the side it disturbs


@dataclass(frozen=True)
class Flood:
    """A load kept running from another client address while a side is measured."""

    request: Request
    source: str
    connections: int


@dataclass(frozen=True)
class Side:
    """What is measured: *load* on *service*, from *connections* clients at *source*.

    *load* is a request, a refresh chain, or a measuring function of its own (the login
    figure's arithmetic baseline). *connections* None is the run's default.
    """

    service: str
    load: Request | Chain | Callable[[Bench, int], Result]
    connections: int | None = None
    source: str | None = None  # a loopback client address (bench.load.run_from)
    flood: Flood | None = None


@dataclass(frozen=True)
class Figure:
    """One row: *label* (side *a*) against *against* (side *b*), and the goal of the ratio."""

    name: str  # what --only selects; several rows may share it
    label: str
    a: Side
    against: str
    b: Side
    goal: Goal

    def services(self) -> set[str]:
        return {self.a.service, self.b.service}


@dataclass
class Bench:
    """How to load and for how long, the running services, and the notes under the table."""

    wrk: Wrk
    runs: int
    duration: int
    warmup: int
    connections: int
    cores: int
    quick: bool
    running: dict[str, Running] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    observed: dict[str, list[float]] = field(default_factory=dict)
    _pairs: dict[tuple[Side, Side], Pairs] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Add a line under the table, and show it now."""
        self.notes.append(text)
        progress(text)

    def observe(self, what: str, value: float) -> None:
        """Keep a value seen while measuring: the notes show each one's range."""
        self.observed.setdefault(what, []).append(value)

    def row(self, figure: Figure) -> Row:
        """Measure the figure's pair of sides (once for every row naming it); return its row."""
        key = (figure.a, figure.b)
        if key not in self._pairs:
            progress(f"measuring {figure.name}: {figure.label} ...")
            a, b = self.measure(figure.a), self.measure(figure.b)
            self._pairs[key] = interleave(
                a, b, runs=self.runs, duration=self.duration, warmup=self.warmup
            )
        return Row.of(figure.label, figure.against, figure.goal, self._pairs[key])

    def measure(self, side: Side) -> Measure:
        """Return a run of *side* for a given number of seconds."""
        if callable(side.load):
            custom = side.load
            return lambda seconds: custom(self, seconds)
        service = self.running[side.service]
        connections = side.connections or self.connections
        load: Load
        if isinstance(side.load, Chain):
            chain = Chain(side.load.request.bind(service.values), side.load.child,
                          side.load.child_header, side.load.client)  # fmt: skip
            # Each run may cut off one request per connection, losing its session.
            runs = 2 + 2 * self.runs
            load = Pool(chain, service.take(chain.client, 100 + runs * connections))
        else:
            load = side.load.bind(service.values)
            probe(service.server.url, load)
        url = service.server.url

        def once(seconds: float) -> Result:
            if side.source is None:
                return self.wrk.run(url, load, seconds, connections)
            assert isinstance(load, Request), "a client address takes fixed requests only"
            return run_from(side.source, url, load, seconds, connections)

        def run(seconds: int) -> Result:
            if side.flood is None:
                return once(seconds)
            flood, request = side.flood, side.flood.request.bind(service.values)
            length = seconds + 2 * FLOOD_LEAD_SECONDS
            results: list[Result] = []
            thread = threading.Thread(target=lambda: results.append(run_from(
                flood.source, url, request, length, flood.connections)))  # fmt: skip
            thread.start()
            time.sleep(FLOOD_LEAD_SECONDS)
            measured = once(seconds)
            thread.join()
            for result in results:
                answered = result.throughput + result.failed / length  # 401, then 429 throttled
                self.observe(f"requests/s answered to the flood from {flood.source}", answered)
            return measured

        return run


def probe(url: str, request: Request) -> None:
    """Stop the figure at once if one request of its load does not succeed."""
    response = requests.request(
        request.method, url + request.path, headers=dict(request.headers), data=request.body,
        timeout=10,
    )  # fmt: skip
    if not response.ok:
        raise RuntimeError(f"{request.method} {request.path}: {response.status_code} "
                           f"{response.text[:200]}")  # fmt: skip


def skipped(
    figure: Figure, services: dict[str, Service], postgres: str | None, quick: bool
) -> str | None:
    """Return why *figure* is not measured in this run, or None."""
    declared = [services[name] for name in figure.services()]
    if quick and any(service.large for service in declared):
        return "--quick"
    if postgres and any(service.engine == "postgresql" for service in declared):
        return "PostgreSQL not reachable"
    return None
