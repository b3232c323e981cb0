"""Interleaved runs, and the markdown table they end up in."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.load import Result

Measure = Callable[[int], Result]  # seconds -> one run
Pairs = tuple[list[Result], list[Result]]  # side A's runs, side B's runs, in pairs


def interleave(a: Measure, b: Measure, *, runs: int, duration: int, warmup: int) -> Pairs:
    """Measure A and B in turns (A B, B A, A B, ...) after one unrecorded warm-up run of each.

    Each pair runs back to back, so a slow spell of a shared machine hits both of its sides;
    swapping the order every pair keeps a trend from always favouring one side.
    """
    if warmup:
        a(warmup)
        b(warmup)
    pairs: Pairs = ([], [])
    for index in range(runs):
        first, second = (0, 1) if index % 2 == 0 else (1, 0)
        pairs[first].append((a, b)[first](duration))
        pairs[second].append((a, b)[second](duration))
    return pairs


_STARTED = time.monotonic()


def progress(text: str) -> None:
    """Tell the person waiting what is happening (stderr: stdout is the table)."""
    print(f"[bench {time.monotonic() - _STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


UNITS = {"throughput": "req/s", "p50": "ms", "p99": "ms"}


@dataclass(frozen=True)
class Goal:
    """What a row asks of the ratio A ÷ B of one statistic: at least or at most *target*."""

    statistic: str  # "throughput", "p50" or "p99"
    goal: str  # ">=" (more is better) or "<=" (less is better)
    target: float

    def values(self, runs: list[Result]) -> list[float]:
        """Return the statistic of each run."""
        name = "throughput" if self.statistic == "throughput" else f"{self.statistic}_ms"
        return [getattr(run, name) for run in runs]


@dataclass(frozen=True)
class Row:
    """One line of the table: a statistic of A and B measured in pairs, or why it was not."""

    label: str
    against: str
    goal: Goal
    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)
    failed: int = 0
    skipped: str | None = None

    @classmethod
    def of(cls, label: str, against: str, goal: Goal, pairs: Pairs) -> Row:
        failed = sum(run.failed for side in pairs for run in side)
        return cls(label, against, goal, goal.values(pairs[0]), goal.values(pairs[1]), failed)

    @property
    def ratios(self) -> list[float]:
        return [x / y if y else math.nan for x, y in zip(self.a, self.b, strict=True)]

    @property
    def met(self) -> bool | None:
        """Return whether the median ratio meets the goal (None: skipped or invalid)."""
        if self.skipped is not None or self.failed:
            return None
        ratio, target = statistics.median(self.ratios), self.goal.target
        return ratio >= target if self.goal.goal == ">=" else ratio <= target

    def markdown(self) -> str:
        goal, unit = self.goal, UNITS[self.goal.statistic]
        wanted = f"{'≥' if goal.goal == '>=' else '≤'} {goal.target:.2f}×"
        if self.skipped is not None:
            cells = [self.label, f"skipped: {self.skipped}", self.against, "—", "—", wanted, "—"]
        else:
            met = {True: "yes", False: "**no**", None: f"invalid: {self.failed} failed requests"}
            cells = [
                self.label,
                _spread(self.a, unit),
                self.against,
                _spread(self.b, unit),
                _spread(self.ratios, "×", goal.target),
                wanted,
                met[self.met],
            ]
        return "| " + " | ".join(cells) + " |"


TABLE_HEADER = (
    "| figure | measured: median (min–max) | against | baseline: median (min–max) "
    "| ratio, pair by pair: median (min–max) | goal | met |\n"
    "|---|---|---|---|---|---|---|"
)


def table(rows: list[Row]) -> str:
    """Return the markdown table of every row."""
    return "\n".join([TABLE_HEADER, *(row.markdown() for row in rows)])


def machine() -> str:
    """Return one line naming the CPU, cores, memory, OS and Python."""
    with open("/proc/cpuinfo") as cpuinfo:  # Linux, as the benchmark: one model name per core
        names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{names[0] if names else platform.processor()}, {cores()} cores (nproc), "
        f"{memory:.0f} GiB RAM; {platform.system()} {platform.release()}; "
        f"Python {sys.version.split()[0]}"
    )


def load_average() -> str:
    """Return the 1-minute load average: how busy the machine was, with everyone's processes."""
    return f"{os.getloadavg()[0]:.2f}"


def cores() -> int:
    """Return the number of CPUs this process may run on (what nproc prints)."""
    return len(os.sched_getaffinity(0))


def _spread(values: list[float], unit: str, target: float | None = None) -> str:
    def number(value: float) -> str:
        if unit == "×":
            return f"{value:.2f}"
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}" if value < 10 else f"{value:.1f}"

    median = statistics.median(values)
    middle = number(median)
    if target is not None and middle == number(target) and median != target:
        middle = f"{median:.3f}"  # "0.90×, not met" would read as a contradiction
    suffix = "×" if unit == "×" else f" {unit}"
    if len(values) == 1:
        return f"{middle}{suffix}"
    return f"{middle}{suffix} ({number(min(values))}–{number(max(values))})"
