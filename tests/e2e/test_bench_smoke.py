"""The benchmark's smoke run: it sets up, measures every figure briefly, and prints its table.

Only that it runs and reports: timings on a shared machine prove nothing, so none is asserted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bench.figures import FIGURES
from bench.report import TABLE_HEADER
from tests.e2e.harness import ROOT

# --quick needs about 40 s on a quiet two-core machine, up to 90 s on a busy one.
SMOKE_TIMEOUT = 150
WRK_REQUIRED = os.environ.get("TOKENPAIR_REQUIRE_WRK") == "1"


def test_the_quick_benchmark_runs_and_prints_a_row_for_every_figure() -> None:
    if shutil.which("wrk") is None:
        reason = "the benchmark needs wrk on PATH (apt-get install wrk)"
        if WRK_REQUIRED:
            pytest.fail(f"{reason}; TOKENPAIR_REQUIRE_WRK=1 makes it mandatory")
        pytest.skip(reason)

    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=SMOKE_TIMEOUT, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr[-4000:]
    report = completed.stdout
    assert report.startswith("Machine: ")
    assert TABLE_HEADER in report
    for figure in FIGURES:
        assert f"| {figure.label} |" in report, figure.label
