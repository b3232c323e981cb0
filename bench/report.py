"""Samples, interleaved runs, and the markdown table they end up in."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import Result


@dataclass(frozen=True)
class Sample:
    """One run of one side of a figure."""

    throughput: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    failed: int = 0

    @classmethod
    def of(cls, result: Result) -> Sample:
        return cls(result.throughput, result.p50_ms, result.p99_ms, result.failed)


Measure = Callable[[int], Sample]  # seconds -> one run's sample
Pairs = tuple[list[Sample], list[Sample]]  # side A's runs, side B's runs, in pairs


def interleave(a: Measure, b: Measure, *, runs: int, duration: int, warmup: int) -> Pairs:
    """Measure A and B in turns (A B, B A, A B, ...) after one unrecorded warm-up run of each.

    Each pair runs back to back, so a slow spell of a shared machine hits both of its sides;
    swapping the order every pair keeps a trend from always favouring one side.
    """
    if warmup:
        a(warmup)
        b(warmup)
    samples_a: list[Sample] = []
    samples_b: list[Sample] = []
    for index in range(runs):
        if index % 2 == 0:
            samples_a.append(a(duration))
            samples_b.append(b(duration))
        else:
            samples_b.append(b(duration))
            samples_a.append(a(duration))
    return samples_a, samples_b


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

    def values(self, samples: list[Sample]) -> list[float]:
        """Return the statistic of each sample."""
        if self.statistic == "throughput":
            return [sample.throughput for sample in samples]
        values = [getattr(sample, f"{self.statistic}_ms") for sample in samples]
        assert all(value is not None for value in values), f"no {self.statistic} measured"
        return values


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
        failed = sum(sample.failed for side in pairs for sample in side)
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
    cpu = _first_value(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown CPU"
    memory_kb = _first_value(Path("/proc/meminfo"), "MemTotal")
    memory = f", {int(memory_kb.split()[0]) / 2**20:.0f} GiB RAM" if memory_kb else ""
    return (
        f"{cpu}, {cores()} cores (nproc){memory}; {platform.system()} {platform.release()}; "
        f"Python {sys.version.split()[0]}"
    )


def load_average() -> str:
    """Return the 1-minute load average: how busy the machine was, with everyone's processes."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "unknown"


def cores() -> int:
    """Return the number of CPUs this process may run on (what nproc prints)."""
    return len(os.sched_getaffinity(0))


def _first_value(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


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
