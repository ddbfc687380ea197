"""No single event crashes a run or reaches into another force's events (issue 9, items 1 and 2;
docs/contract.md sections 7 and 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from refmon.streams.engine import Engine

from tests.cli import run_cli
from tests.factories import closed, received, recorded, referred

DUTY = "2026-02-02T10:00:00Z"
SERIOUS = {"categories": ["serious_assault"]}
AFTER = "2026-02-10T00:00:00Z"  # past every deadline above


def jsonl(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def dead_letters(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(tmp_path: Path, events: list[dict[str, Any]], *extra: str) -> dict[str, Any]:
    result = run_cli(
        [
            "run",
            "--input",
            "-",
            "--report",
            str(tmp_path / "report.json"),
            "--findings",
            str(tmp_path / "findings.jsonl"),
            "--dead-letter",
            str(tmp_path / "dead.jsonl"),
            *extra,
        ],
        jsonl(events),
    )
    assert result.status == 0, result.stderr
    report: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    return report


def force_row(report: dict[str, Any], force: str) -> dict[str, Any]:
    return next(r for r in report["forces"] if r["force"] == force)


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        ("9999-12-31T23:59:59-12:00", "future_timestamp"),
        ("9999-12-30T12:00:00Z", "future_timestamp"),
        ("0001-01-01T05:00:00+14:00", "implausible_timestamp"),
        ("1999-12-31T23:59:59Z", "implausible_timestamp"),
    ],
)
def test_an_event_at_an_extreme_time_is_a_dead_letter_and_every_output_is_written(
    tmp_path: Path, at: str, reason: str
) -> None:
    events = [recorded(DUTY, **SERIOUS), recorded(at, case="c2", **SERIOUS)]
    report = run(tmp_path, events, "--as-of", AFTER)
    assert report["events"] == {"valid": 1, "invalid": 1, "duplicate": 0}
    assert [d["reason"] for d in dead_letters(tmp_path / "dead.jsonl")] == [reason]
    assert (tmp_path / "findings.jsonl").read_text()
    assert force_row(report, "DUR")["mandatory"] == 1


def test_an_as_of_more_than_a_day_ahead_of_the_wall_clock_is_refused() -> None:
    result = run_cli(["run", "--input", "-", "--as-of", "9999-12-31T00:00:00Z"])
    assert result.status == 2
    assert "more than 24 hours after the wall clock" in result.stderr


def test_one_future_dated_event_leaves_every_force_as_it_was_but_the_dead_letter_count(
    tmp_path: Path,
) -> None:
    events = [
        recorded(DUTY, **SERIOUS),
        recorded("2026-02-20T10:00:00Z", case="m1", force="MPS", **SERIOUS),
        referred("2026-02-20T12:00:00Z", case="m1", force="MPS"),
    ]
    before = run(tmp_path, events)
    after = run(tmp_path, [*events, recorded("2999-01-01T00:00:00Z", case="x", force="LAN")])
    assert after["as_of"] == before["as_of"]
    assert after["events"] == {**before["events"], "invalid": 1}
    assert after["forces"] == before["forces"]
    assert [d["reason"] for d in dead_letters(tmp_path / "dead.jsonl")] == ["future_timestamp"]


def test_an_event_whose_judging_raises_is_a_dead_letter_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    poison = recorded(DUTY, case="poison", **SERIOUS)
    real_apply = Engine.apply

    def apply(self: Engine, event: Any) -> Any:
        if event.case_id == "poison":
            raise OverflowError("date value out of range")
        return real_apply(self, event)

    monkeypatch.setattr(Engine, "apply", apply)
    report = run(tmp_path, [poison, recorded(DUTY, **SERIOUS), closed("2026-02-03T10:00:00Z")])
    assert report["events"] == {"valid": 2, "invalid": 1, "duplicate": 0}
    [letter] = dead_letters(tmp_path / "dead.jsonl")
    assert (letter["line"], letter["reason"]) == (1, "internal_error")
    assert "OverflowError" in letter["message"]
    assert force_row(report, "DUR")["open_findings"]["closed_without_referral"] == 1


def test_another_forces_reused_event_ids_never_hide_a_forces_referrals(tmp_path: Path) -> None:
    mps = []
    for n in range(6):
        case = f"m{n}"
        mps += [
            recorded(DUTY, case=case, force="MPS", **SERIOUS),
            referred("2026-02-02T12:00:00Z", case=case, force="MPS"),
        ]
    honest = run(tmp_path, mps, "--as-of", AFTER)
    hostile = [
        {**closed("2026-02-03T10:00:00Z", case=f"d{n}", force="DUR"), "event_id": e["event_id"]}
        for n, e in enumerate(mps)
    ]
    report = run(tmp_path, [*hostile, *mps], "--as-of", AFTER)
    assert force_row(report, "MPS") == force_row(honest, "MPS")
    assert force_row(report, "MPS")["on_time"] == 6
    assert report["events"] == {"valid": 24, "invalid": 0, "duplicate": 0}


def test_the_same_id_from_one_source_with_other_content_is_a_conflicting_duplicate(
    tmp_path: Path,
) -> None:
    first = recorded(DUTY, **SERIOUS)
    conflicting = {**recorded(DUTY), "event_id": first["event_id"]}
    repeat = json.loads(json.dumps(first))
    watchdog = received("2026-02-02T12:00:00Z")
    watchdog_elsewhere = {
        **received("2026-02-02T12:00:00Z", case="c9", force="MPS"),
        "event_id": watchdog["event_id"],
    }
    report = run(tmp_path, [first, conflicting, repeat, watchdog, watchdog_elsewhere])
    assert report["events"] == {"valid": 2, "invalid": 2, "duplicate": 1}
    assert [(d["line"], d["reason"]) for d in dead_letters(tmp_path / "dead.jsonl")] == [
        (2, "conflicting_duplicate"),
        (5, "conflicting_duplicate"),
    ]
    assert force_row(report, "DUR")["mandatory"] == 1
