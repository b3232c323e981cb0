"""The conformance kit's command line: its options and its one line per area."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance import cli


def test_conformance_takes_the_two_urls_and_passes_what_follows_a_double_dash_to_pytest() -> None:
    options = cli.parse(
        ["--auth-url", "https://a.example", "--resource-url", "http://r:8002", "--", "-k", "jwks"]
    )

    assert (options.auth_url, options.resource_url) == ("https://a.example", "http://r:8002")
    assert options.ca_file is None
    assert (options.grace, options.leeway, options.max_wait) == (10, 5, 20)
    assert options.pytest_args == ["-k", "jwks"]


def test_conformance_can_run_the_resource_servers_checks_only_keeping_the_report(
    tmp_path: Path,
) -> None:
    options = cli.parse(
        ["--auth-url", "http://a", "--resource-url", "http://r", "--resource-server-only"]
        + ["--issuer-keys-dir", str(tmp_path), "--junit-xml", "out.xml", "--", "-x"]
    )

    arguments = cli.pytest_arguments(options, tmp_path / "out.xml")

    assert arguments[-5:] == ["--issuer-keys-dir", str(tmp_path), "-m", "resource_server", "-x"]
    assert f"--junitxml={tmp_path / 'out.xml'}" in arguments
    assert options.junit_xml == "out.xml"
    everything = cli.pytest_arguments(
        cli.parse(["--auth-url", "http://a", "--resource-url", "http://r"]), tmp_path
    )
    assert "-m" not in everything and "--issuer-keys-dir" not in everything


def test_conformance_takes_the_settings_it_cannot_see_as_seconds() -> None:
    options = cli.parse(
        ["--auth-url", "http://a", "--resource-url", "http://r", "--grace", "0.5"]
        + ["--leeway", "0", "--max-wait", "400"]
    )

    assert (options.grace, options.leeway, options.max_wait) == (0.5, 0, 400)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--resource-url", "http://r"], "--auth-url"),
        (["--auth-url", "a.example", "--resource-url", "http://r"], "--auth-url"),
        (["--auth-url", "http://a", "--resource-url", "http://r", "--ca-file", "/no/such"], "ca"),
        (["--auth-url", "http://a", "--resource-url", "http://r", "--grace", "-1"], "--grace"),
        (
            ["--auth-url", "http://a", "--resource-url", "http://r"]
            + ["--source-addresses", "127.0.0.2,localhost"],
            "localhost",
        ),
        (["--auth-url", "http://a", "--resource-url", "http://r", "--max-wait", "x"], "max-wait"),
        (
            ["--auth-url", "http://a", "--resource-url", "http://r"]
            + ["--issuer-keys-dir", "/no/such"],
            "--issuer-keys-dir",
        ),
    ],
)
def test_a_bad_conformance_option_is_one_line_naming_it(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.parse(argv)

    (line,) = capsys.readouterr().err.splitlines()
    assert stopped.value.code == 2
    assert named in line


def test_the_conformance_summary_counts_each_area_and_fails_one_with_a_failed_check(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.conformance.test_contract" name="a"/>'
        '<testcase classname="tests.conformance.test_contract" name="b"><skipped/></testcase>'
        '<testcase classname="tests.conformance.test_forged_tokens" name="c"><failure/></testcase>'
        '<testcase classname="tests.conformance.test_forged_tokens" name="d"><error/></testcase>'
        "</testsuite></testsuites>"
    )

    areas = cli.area_results(report)

    assert areas == {
        "contract": {"passed": 1, "skipped": 1, "failed": 0},
        "forged tokens": {"failed": 2},
    }
