"""Edges of the command line: numbers too big to judge are usage errors, not crashes."""

from __future__ import annotations

import json

import pytest

from tests.cli import run_cli
from tests.factories import allegation, recorded


def _stream() -> bytes:
    event = recorded("2026-01-05T10:00:00Z", allegations=[allegation("serious_assault")])
    return (json.dumps(event) + "\n").encode()


@pytest.mark.parametrize("days", ["99999999999", "36526", "-1"])
def test_a_window_beyond_a_century_is_a_usage_error(days: str) -> None:
    result = run_cli(["run", "--input", "-", "--window-days", days, "-q"], _stream())
    assert result.status == 2
    assert result.stderr == "refmon: error: --window-days must be between 1 and 36,525\n"


def test_a_window_of_a_century_still_judges() -> None:
    args = ["run", "--input", "-", "--window-days", "36525", "--as-of", "2026-02-01T00:00:00Z"]
    result = run_cli([*args, "-q"], _stream())
    assert result.status == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["window_days"] == 36525
    assert {r["force"]: r["recorded"] for r in report["forces"]}["DUR"] == 1


def test_report_bounds_its_window_before_reaching_kafka() -> None:
    result = run_cli(["report", "--window-days", "99999999999", "--bootstrap-server", "x:1"])
    assert result.status == 2
    assert "--window-days must be between 1 and 36,525" in result.stderr
