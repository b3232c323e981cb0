"""``python -m bench``: measure every figure, then print the machine and a markdown table.

    .venv/bin/python -m bench            # the full run: 5 pairs of 5 s runs per figure
    .venv/bin/python -m bench --quick    # a smoke run (under a minute), no 1M-row figure

Progress goes to stderr, the report to stdout. The exit status is 0 when every figure ran
without a failed request, whether or not its goal was met.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import traceback
from pathlib import Path

import gunicorn
import psycopg

from bench.figures import FIGURES, SERVICES
from bench.load import Wrk
from bench.report import Row, cores, load_average, machine, progress, table
from bench.runner import Bench, Figure, skipped
from bench.services import register_users, set_up
from devstack import Databases, postgres_unavailable, serving

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark tokenpair under gunicorn and print a markdown table.",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: 1 run of 1 s per side, no warm-up, no 1,000,000-row figure",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, help="pairs of runs per figure (default 5)")
    parser.add_argument("--duration", type=int, help="seconds per run (default 5)")
    parser.add_argument("--warmup", type=int, help="seconds of unrecorded warm-up (default 1)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: nproc, 1 quick)")
    parser.add_argument("--connections", type=int, help="concurrent requests (default 2×workers)")
    parser.add_argument("--only", action="append", choices=sorted({f.name for f in FIGURES}),
                        help="run only this figure (repeatable)")  # fmt: skip
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help=f"PostgreSQL admin URL (default {DEFAULT_POSTGRES})")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (databases, logs) to look at")  # fmt: skip
    args = parser.parse_args(argv)
    quick = args.quick
    args.workers = args.workers or (1 if quick else cores())
    args.runs = args.runs or (1 if quick else 5)
    args.duration = args.duration or (1 if quick else 5)
    args.warmup = args.warmup if args.warmup is not None else (0 if quick else 1)
    args.connections = args.connections or 2 * args.workers
    if min(args.runs, args.duration, args.workers, args.connections) < 1 or args.warmup < 0:
        parser.error("--runs, --duration, --workers and --connections must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    folder = Path(tempfile.mkdtemp(prefix="tokenpair-bench-"))
    databases = Databases(folder, args.postgres)
    bench = Bench(Wrk(folder), args.runs, args.duration, args.warmup,
                  args.connections, cores(), args.quick)  # fmt: skip
    postgres = postgres_unavailable(args.postgres)
    figures = [figure for figure in FIGURES if not args.only or figure.name in args.only]
    reasons = [skipped(figure, SERVICES, postgres, args.quick) for figure in figures]
    needed = {
        name for f, why in zip(figures, reasons, strict=True) if not why for name in f.services()
    }
    rows: list[Row] = []
    try:
        load_before = load_average()
        progress("creating the key and the databases, migrating the auth services ...")
        services = {name: service for name, service in SERVICES.items() if name in needed}
        bench.running = set_up(services, folder, databases, args.workers)
        progress("starting the services ...")
        with serving([run.server for run in bench.running.values()]):
            register_users(bench.running)
            rows = [measured(bench, f, why) for f, why in zip(figures, reasons, strict=True)]
        bench.note(f"load average (1 min) of the whole machine: {load_before} at the start, "
                   f"{load_average()} at the end")  # fmt: skip
        print(report(bench, rows, databases, args, argv))
    finally:
        databases.drop_all()
        if args.keep:
            progress(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    invalid = [row.label for row in rows if row.failed]
    if invalid:
        progress(f"failed requests in: {', '.join(invalid)}; see the services' logs (--keep)")
    broken = any(row.skipped and row.skipped.startswith("error") for row in rows)
    return 1 if broken or invalid else 0


def measured(bench: Bench, figure: Figure, reason: str | None) -> Row:
    """Return the figure's row: measured, or skipped for *reason* or for an error."""
    if reason is None:
        try:
            return bench.row(figure)
        except Exception as error:  # report the other figures all the same
            traceback.print_exc()
            reason = f"error ({type(error).__name__}), see stderr"
    return Row(figure.label, figure.against, figure.goal, skipped=reason)


def report(
    bench: Bench, rows: list[Row], databases: Databases, args: argparse.Namespace, argv: list[str]
) -> str:
    """Return the machine, the settings, the table and the notes, in markdown."""
    engines = f"SQLite {sqlite3.sqlite_version}"
    if postgres_unavailable(args.postgres) is None:
        with psycopg.connect(databases.admin_url) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        engines += f", PostgreSQL {version[0] if version else '?'} (same machine)"
    lines = [
        f"Machine: {machine()}",
        "",
        f"Services: gunicorn {gunicorn.__version__} `-c python:shared.gunicorn_conf`, "
        f"{args.workers} workers each (`WEB_CONCURRENCY={args.workers}`); {engines}",
        "",
        f"Load: {bench.wrk.description} on loopback, {bench.connections} connections "
        f"unless the row says otherwise; {bench.runs} run(s) of {bench.duration} s per side after "
        f"{bench.warmup} s of warm-up, interleaved (A B, B A, ...); median of the runs (min–max); "
        "ratios pair by pair",
        "",
        f"Command: `{' '.join(['.venv/bin/python -m bench', *argv])}`",
        "",
        table(rows),
    ]
    observed = [f"{what}: {min(v):.3g}–{max(v):.3g}" for what, v in bench.observed.items()]
    notes = [*observed, *bench.notes]
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
