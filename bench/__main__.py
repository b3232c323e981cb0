"""``python -m bench``: measure every figure, then print the machine and a markdown table.

    .venv/bin/python -m bench            # the full run: 5 pairs of 5 s runs per figure
    .venv/bin/python -m bench --quick    # a smoke run (half a minute), no 1M-row figure

Progress goes to stderr, the report to stdout. The exit status is 0 when every figure ran
without a failed request, whether or not its goal was met.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import traceback
from pathlib import Path

import gunicorn
import psycopg

from auth_service.keystore import KeyStore
from bench.figures import FIGURES, Bench, Plan, progress
from bench.load import choose_generator
from bench.report import Row, cores, load_average, machine, table
from bench.stack import Databases, FlaskCommand, run_flask, service_env, serving
from shared.keys import jwks_document

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
    parser.add_argument(
        "--workers", type=int, default=cores(), help="gunicorn workers (default: nproc)"
    )
    parser.add_argument("--connections", type=int, help="concurrent requests (default 2×workers)")
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (default: wrk when on PATH)")  # fmt: skip
    parser.add_argument("--only", action="append", choices=[f.name for f in FIGURES],
                        help="run only this figure (repeatable)")  # fmt: skip
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help=f"PostgreSQL admin URL (default {DEFAULT_POSTGRES})")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (databases, logs) to look at")  # fmt: skip
    args = parser.parse_args(argv)
    quick = args.quick
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
    try:
        bench = Bench(
            generator=choose_generator(args.load, folder),
            runs=args.runs,
            duration=args.duration,
            warmup=args.warmup,
            workers=args.workers,
            connections=args.connections,
            cores=cores(),
            quick=args.quick,
            folder=folder,
            keys_dir=folder / "keys",
            databases=databases,
            notes=[],
        )
        load_before = load_average()
        rows, errors = run_figures(bench, args.only)
        bench.note(f"load average (1 min) of the whole machine: {load_before} at the start, "
                   f"{load_average()} at the end")  # fmt: skip
        print(report(bench, rows, databases, argv))
    finally:
        databases.drop_all()
        if args.keep:
            progress(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    invalid = [row.metric.label for row in rows if row.failed]
    if invalid:
        progress(f"failed requests in: {', '.join(invalid)}; see the services' logs (--keep)")
    return 1 if errors or invalid else 0


def run_figures(bench: Bench, only: list[str] | None) -> tuple[list[Row], int]:
    """Set up and measure each selected figure; return the rows and how many figures broke."""
    postgres_missing = bench.databases.postgres_unavailable()
    skipped: dict[str, str] = {}
    plans: dict[str, Plan] = {}
    for figure in FIGURES:
        if only and figure.name not in only:
            continue
        if figure.large and bench.quick:
            skipped[figure.name] = "--quick"
        elif figure.engine == "postgresql" and postgres_missing:
            bench.note(f"{figure.name} skipped: {postgres_missing}")
            skipped[figure.name] = "PostgreSQL not reachable"
        else:
            plans[figure.name] = figure.plan(bench)

    progress("creating the signing key ...")
    key_env = {
        "AUTH_KEYS_DIR": str(bench.keys_dir),
        "AUTH_DATABASE_URL": bench.databases.sqlite("keys"),
    }
    run_flask([FlaskCommand("auth_service", ("keys", "init"), service_env(1, key_env))])
    # What `flask --app auth_service keys public` prints: the resource service's key file.
    keys = KeyStore(bench.keys_dir).load()
    bench.jwks_file.write_text(json.dumps(jwks_document([key.public for key in keys])))
    progress("migrating the databases ...")
    run_flask([command for plan in plans.values() for command in plan.migrations])
    progress("seeding ...")
    for plan in plans.values():
        plan.seed()

    rows: list[Row] = []
    errors = 0
    with serving([server for plan in plans.values() for server in plan.servers]):
        for figure in FIGURES:
            if figure.name in skipped:
                rows += figure.skipped(skipped[figure.name])
            elif figure.name in plans:
                progress(f"measuring {figure.name} ...")
                try:
                    rows += figure.rows(plans[figure.name].measure())
                except Exception as error:  # report the other figures all the same
                    traceback.print_exc()
                    errors += 1
                    rows += figure.skipped(f"error ({type(error).__name__}), see stderr")
    return rows, errors


def report(bench: Bench, rows: list[Row], databases: Databases, argv: list[str]) -> str:
    """Return the machine, the settings, the table and the notes, in markdown."""
    engines = f"SQLite {sqlite3.sqlite_version}"
    if databases.postgres_unavailable() is None:
        with psycopg.connect(databases.admin_url) as connection:
            version = connection.execute("SHOW server_version").fetchone()
        engines += f", PostgreSQL {version[0] if version else '?'} (same machine)"
    lines = [
        f"Machine: {machine()}",
        "",
        f"Services: gunicorn {gunicorn.__version__} `-c python:shared.gunicorn_conf`, "
        f"{bench.workers} sync workers each (`WEB_CONCURRENCY={bench.workers}`); {engines}",
        "",
        f"Load: {bench.generator.description} on loopback, {bench.connections} connections; "
        f"{bench.runs} run(s) of {bench.duration} s per side after {bench.warmup} s of warm-up, "
        "interleaved (A B, B A, ...); median of the runs (min–max); ratios pair by pair",
        "",
        f"Command: `{' '.join(['.venv/bin/python -m bench', *argv])}`",
        "",
        table(rows),
    ]
    if bench.notes:
        lines += ["", *(f"- {note}" for note in bench.notes)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
