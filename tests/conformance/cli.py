"""The kit's command line: `python -m tests.conformance --auth-url URL --resource-url URL`.

`python3 dev.py conformance` runs it in the project's venv, compose's `conformance` service in
the image; both take the same arguments.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parent


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


CONFORMANCE_HELP = """\
Run the conformance kit (tests/conformance, the same tests the e2e ring runs against the
processes it starts) against a running deployment, over HTTP only: it registers throwaway
users and needs no database or key access. Prints pytest's report, then one line per area;
exits 0 only when every check of every area holds (a skipped check says why). Arguments after
`--` go to pytest, e.g. `-- -k rotation -x`."""


# What the kit cannot see from outside: (option, default, meaning). The access-token lifetime
# it reads from each token response's `expires_in`.
CONFORMANCE_WAITS = (
    ("grace", 10.0, "the deployment's AUTH_REFRESH_REUSE_GRACE"),
    ("leeway", 5.0, "the deployment's RESOURCE_LEEWAY"),
    ("max-wait", 20.0, "longest a check may wait for a token or grace window to run out; "
     "a check that would wait longer is skipped with the reason"),
)  # fmt: skip


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:
        raise argparse.ArgumentTypeError(f"must be seconds from 0 to 86400, got {text!r}")
    return seconds


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse the kit's options; what follows ``--`` goes to pytest."""
    parser = _Parser(
        prog="python -m tests.conformance",
        description=CONFORMANCE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--auth-url", required=True, metavar="URL", help="the auth service")
    parser.add_argument("--resource-url", required=True, metavar="URL", help="the resource service")
    parser.add_argument(
        "--ca-file", metavar="PEM", help="CA certificate(s) to trust for HTTPS (e.g. Caddy's root)"
    )
    parser.add_argument(
        "--resource-server-only",
        action="store_true",
        help="run only the checks of the resource service (the auth service just issues the "
        "tokens they use): to check your own resource service, e.g. one on flask-jwt-extended",
    )
    parser.add_argument(
        "--issuer-keys-dir",
        metavar="DIR",
        help="the issuer's <kid>.pem private keys, if you hold them: the forgeries that need a "
        "real signature run instead of being skipped",
    )
    parser.add_argument(
        "--browser-origin",
        metavar="ORIGIN",
        help="one of the deployment's AUTH_BROWSER_ORIGINS: the browser-mode checks (refresh "
        "cookie, CORS, foreign origins refused) run from it instead of being skipped",
    )
    parser.add_argument(
        "--junit-xml", metavar="PATH", help="also keep pytest's JUnit XML report, for your CI"
    )
    parser.add_argument(
        "--source-addresses",
        default="",
        metavar="A,B,...",
        help="loopback addresses to send from in turn, so per-address limits (AUTH_ADDRESS_*) "
        "count the kit as several clients; only where the deployment is reached over loopback",
    )
    for name, default, what in CONFORMANCE_WAITS:
        parser.add_argument(
            f"--{name}", type=_seconds, default=default, metavar="SECONDS",
            help=f"{what} (default {default:g})",
        )  # fmt: skip
    split = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:split])
    options.pytest_args = argv[split + 1 :]
    for name in ("auth_url", "resource_url"):
        url = getattr(options, name)
        if not url.startswith(("http://", "https://")):
            parser.error(
                f"--{name.replace('_', '-')} must be an http:// or https:// URL, got {url!r}"
            )
    for address in filter(None, options.source_addresses.split(",")):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            parser.error(f"--source-addresses: {address!r} is not an IP address")
    if options.ca_file and not Path(options.ca_file).is_file():
        parser.error(f"--ca-file {options.ca_file}: no such file")
    if options.issuer_keys_dir and not Path(options.issuer_keys_dir).is_dir():
        parser.error(f"--issuer-keys-dir {options.issuer_keys_dir}: no such folder")
    return options


def pytest_arguments(options: argparse.Namespace, report: Path) -> list[str]:
    """The pytest command line that runs the kit as *options* say, its JUnit XML to *report*."""
    return [
        str(KIT), "-p", "no:cacheprovider", "-q", "--tb=short", f"--junitxml={report}",
        "--auth-url", options.auth_url,
        "--resource-url", options.resource_url,
        *(["--ca-file", options.ca_file] if options.ca_file else []),
        "--grace", str(options.grace), "--leeway", str(options.leeway),
        "--max-wait", str(options.max_wait),
        "--source-addresses", options.source_addresses,
        *(["--issuer-keys-dir", options.issuer_keys_dir] if options.issuer_keys_dir else []),
        *(["--browser-origin", options.browser_origin] if options.browser_origin else []),
        *(["-m", "resource_server"] if options.resource_server_only else []),
        *options.pytest_args,
    ]  # fmt: skip


def run(options: argparse.Namespace) -> int:
    """Run the kit's tests against the deployment, then print one line per area."""
    with tempfile.TemporaryDirectory(prefix="tokenpair-conformance-") as scratch:
        report = Path(options.junit_xml or Path(scratch) / "report.xml").resolve()
        report.unlink(missing_ok=True)  # a kept report of an earlier run must not be counted
        arguments = pytest_arguments(options, report)
        code = int(pytest.main(arguments))
        areas = area_results(report) if report.exists() else {}
    only = " (the resource server's checks only)" if options.resource_server_only else ""
    print("\nconformance of", options.auth_url, "and", options.resource_url + only)
    for area, counts in areas.items():
        verdict = "FAIL" if counts["failed"] else "ok  "
        detail = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()) if n)
        print(f"  {verdict} {area:<16} {detail}")
    if not areas:
        print("  no checks ran; pytest's output above says why")
    return code or (0 if areas else 1)


def area_results(report: Path) -> dict[str, Counter[str]]:
    """Count the outcomes in a JUnit XML *report* per area (test module of the kit)."""
    areas: dict[str, Counter[str]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        area = module.removeprefix("test_").replace("_", " ")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped":
                outcome = "skipped"
        areas.setdefault(area, Counter({"failed": 0}))[outcome] += 1
    return areas


def main(argv: list[str]) -> int:
    """Parse *argv*, run the kit, return its exit status."""
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
