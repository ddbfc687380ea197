"""A national year in which one force deteriorates late and another over-refers (issue 11).

HERTS refers 30 % of its mandatory cases late from 1 October, its last three
months; NOTTS refers a tenth of its non-mandatory cases anyway. Everyone
else stays in control.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli

pytestmark = pytest.mark.slow

DETERIORATING = "HERTS"
FROM = "2025-10-01"
OVER_REFERRING = "NOTTS"
SIMULATE = [
    "simulate",
    "--days",
    "365",
    "--seed",
    "7",
    "--deteriorate",
    f"{DETERIORATING}:{FROM}:0.3",
    "--over-refer",
    f"{OVER_REFERRING}:0.1",
    "-q",
]


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("surveillance") / "events.jsonl"
    assert run_cli([*SIMULATE, "--output", str(path)]).status == 0
    return path


@pytest.fixture(scope="module")
def run(stream: Path) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """The report, the findings and the summary table of one `refmon run`."""
    findings = stream.with_name("findings.jsonl")
    result = run_cli(["run", "--input", str(stream), "--findings", str(findings)])
    assert result.status == 0
    rows = [json.loads(line) for line in findings.read_text().splitlines()]
    return json.loads(result.stdout), rows, result.stderr


@pytest.fixture(scope="module")
def judged(
    run: tuple[dict[str, Any], list[dict[str, Any]], str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return run[0], run[1]


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["force"]: r for r in report["forces"]}


def test_the_deteriorating_force_signals_while_its_year_long_funnel_still_says_ok(
    judged: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    rows = _rows(judged[0])
    herts = rows[DETERIORATING]
    assert herts["timeliness_status"] == "signal"
    assert herts["timeliness_signalled_at"] > FROM
    # Seed 7's draw: the collapse is too recent to move the 365-day funnel past its limit.
    assert herts["compliance_status"] == "ok"
    assert herts["open_findings"]["deterioration"] == 1


def test_forces_in_control_do_not_signal(
    judged: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    signalling = {f for f, r in _rows(judged[0]).items() if r["timeliness_status"] != "ok"}
    assert signalling == {DETERIORATING}


def test_the_over_referring_force_and_no_other_is_beyond_the_998_returned_share_limit(
    judged: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    rows = _rows(judged[0])
    assert rows[OVER_REFERRING]["returned_share_status"] in {"alert", "alarm"}
    alarms = {f for f, r in rows.items() if r["returned_share_status"] == "alarm"}
    assert alarms <= {OVER_REFERRING}
    national = judged[0]["national"]
    assert 0.15 < national["returned_share"] < 0.35
    assert rows[OVER_REFERRING]["returned_share"] > 1.3 * national["returned_share"]


def test_the_findings_file_holds_one_open_deterioration_finding_with_its_evidence(
    judged: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    report, findings = judged
    found = [f for f in findings if f["kind"] == "deterioration"]
    assert len(found) == 1
    (finding,) = found
    assert (finding["force"], finding["status"], finding["case_id"]) == (
        DETERIORATING,
        "open",
        None,
    )
    assert finding["detected_at"] == _rows(report)[DETERIORATING]["timeliness_signalled_at"]
    assert {f["ruleset"] for f in findings} == {"ew-2020.1"}
    missed = [f for f in findings if f["kind"] == "missed_referral"]
    assert missed
    assert all(f["duty_event_id"] and f["referral_event_id"] is None for f in missed)


def test_before_its_deterioration_the_force_was_in_control(stream: Path, tmp_path: Path) -> None:
    # The simulated stream is in event-time order: cut it at the change.
    before = tmp_path / "before.jsonl"
    with stream.open() as lines, before.open("w") as out:
        for line in lines:
            if json.loads(line)["occurred_at"] >= FROM:
                break
            out.write(line)
    result = run_cli(["run", "--input", str(before), "-q"])
    assert _rows(json.loads(result.stdout))[DETERIORATING]["timeliness_status"] == "ok"


def test_the_summary_table_shows_the_new_statuses_with_flagged_forces_first(
    run: tuple[dict[str, Any], list[dict[str, Any]], str],
) -> None:
    report, _, summary = run
    lines = summary.splitlines()
    assert lines[0].split()[-6:] == ["cusum", "cusum?", "decided", "ret.", "ret.?", "open"]
    flagged = {
        r["force"]
        for r in report["forces"]
        if {"alert", "alarm", "signal"}
        & {
            r["compliance_status"],
            r["mandatory_share_status"],
            r["returned_share_status"],
            r["timeliness_status"],
        }
    }
    assert {DETERIORATING, OVER_REFERRING} <= flagged
    first = [line.split()[0] for line in lines[2 : 2 + len(flagged)]]
    assert set(first) == flagged
    herts = next(line.split() for line in lines if line.startswith(DETERIORATING))
    assert "signal" in herts
    assert f"flagged: {', '.join(sorted(flagged))}" in summary
