"""The benchmark's smoke run: it sets up, measures every figure briefly, and prints its table.

Only that it runs and reports: timings on a shared machine prove nothing, so none is asserted.
"""

from __future__ import annotations

import subprocess
import sys

from bench.figures import FIGURES
from bench.report import TABLE_HEADER
from tests.e2e.harness import ROOT

# --quick needs about half a minute on a busy two-core machine.
SMOKE_TIMEOUT = 90


def test_the_quick_benchmark_runs_and_prints_a_row_for_every_figure() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=SMOKE_TIMEOUT, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr[-4000:]
    report = completed.stdout
    assert report.startswith("Machine: ")
    assert TABLE_HEADER in report
    for figure in FIGURES:
        for metric in figure.metrics:
            assert f"| {metric.label} |" in report, metric.label
