"""The environment of `refmon findings` and `refmon alerts` (docs/cli.md): each variable
stands in for its flag, a flag given wins, and a bad value is the command's usage error."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import pytest

from refmon.force_settings import ForceSettings
from refmon.force_source import alerts_group
from tests.cli import run_cli
from tests.unit.test_findings_command import findings_file


def test_refmon_force_and_refmon_findings_format_stand_in_for_their_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = str(findings_file(tmp_path))
    every = run_cli(["findings", "--input", source, "--format", "csv"])
    monkeypatch.setenv("REFMON_FORCE", "MPS")
    monkeypatch.setenv("REFMON_FINDINGS_FORMAT", "csv")
    mps = run_cli(["findings", "--input", source])
    assert mps.status == 0, mps.stderr
    rows = list(csv.DictReader(io.StringIO(mps.stdout)))
    assert {r["force"] for r in rows} == {"MPS"}
    assert {r["force"] for r in csv.DictReader(io.StringIO(every.stdout))} == {"DUR", "MPS"}
    # A flag given wins over its variable.
    dur = run_cli(["findings", "--input", source, "--force", "DUR", "--format", "json"])
    assert {json.loads(x)["force"] for x in dur.stdout.splitlines()} == {"DUR"}


def test_a_bad_findings_format_in_the_environment_is_a_usage_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFMON_FINDINGS_FORMAT", "xml")
    result = run_cli(["findings", "--input", str(findings_file(tmp_path))])
    assert (result.status, result.stderr.strip()) == (
        2,
        "refmon: error: REFMON_FINDINGS_FORMAT 'xml': use text, csv or json",
    )
    # The other commands do not read it, so it is no error of theirs.
    assert run_cli(["rules", "list"]).status == 0


@pytest.mark.parametrize(
    ("variable", "value", "error"),
    [
        ("REFMON_WEBHOOK_URL", "ftp://example.invalid/", "--webhook must be an http://"),
        ("REFMON_WEBHOOK_ATTEMPTS", "0", "--webhook-attempts must be at least 1"),
        ("REFMON_WEBHOOK_ATTEMPTS", "many", "argument --webhook-attempts: invalid int value"),
        ("REFMON_WEBHOOK_ATTEMPTS", "", "argument --webhook-attempts: invalid int value: ''"),
        ("REFMON_WEBHOOK_STATE", "/no/such/folder/sent", "--webhook-state: no directory /no/"),
    ],
)
def test_the_webhook_variables_are_checked_as_their_flags_are_before_kafka_is_reached(
    variable: str,
    value: str,
    error: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REFMON_WEBHOOK_URL", "https://example.invalid/hook")
    monkeypatch.setenv(variable, value)
    result = run_cli(["alerts", "--force", "DUR", "--bootstrap-server", "127.0.0.1:1"])
    assert result.status == 2
    # argparse writes its own errors to the process's stderr.
    assert error in result.stderr + capsys.readouterr().err


def test_refmon_alerts_group_names_the_group_unless_the_flag_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REFMON_ALERTS_GROUP", "dur-desk")
    assert alerts_group(argparse.Namespace(group=None), "DUR") == "dur-desk"
    assert alerts_group(argparse.Namespace(group="mine"), "DUR") == "mine"


def test_nothing_set_gives_the_flags_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE", "ALERTS_GROUP", "WEBHOOK_URL", "WEBHOOK_STATE", "WEBHOOK_ATTEMPTS"):
        monkeypatch.delenv(f"REFMON_{name}", raising=False)
    monkeypatch.delenv("REFMON_FINDINGS_FORMAT", raising=False)
    assert ForceSettings() == ForceSettings(
        force=None,
        alerts_group=None,
        webhook_url=None,
        webhook_state=None,
        webhook_attempts="5",
        findings_format="text",
    )
