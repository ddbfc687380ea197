"""The clock moves no further than the time an event was received (docs/contract.md section 13):
one force's clock running ahead brings no other force's deadline forward (issue 18, item 9)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from refmon.streams.engine.timeutil import MICROS_PER_HOUR, end_of_following_day, format_utc
from refmon.streams.runner.embedded import judge

from refmon import bootstrap
from refmon.cli import main
from refmon.environment import Environment
from tests.factories import engine_event, micros, open_kinds, recorded, referred

LONDON = __import__("zoneinfo").ZoneInfo("Europe/London")
SERIOUS = {"categories": ["serious_assault"]}
MER_DUTY = "2026-03-09T12:00:00Z"
MER_DEADLINE = end_of_following_day(micros(MER_DUTY), LONDON)  # 2026-03-11T00:00Z
NOW = MER_DEADLINE - (5 * 60 + 48) * 60_000_000  # 5 h 48 min before MER's deadline
AHEAD = format_utc(NOW + 23 * MICROS_PER_HOUR)  # accepted: under the 24-hour bound


def test_an_event_dated_ahead_moves_the_clock_only_to_when_it_was_received() -> None:
    engine = bootstrap.build().engine
    for raw in (recorded(MER_DUTY, case="m1", force="MER", **SERIOUS), recorded(AHEAD)):
        assert not isinstance(judge(engine, engine_event(raw), NOW), Exception)
    assert engine.clock == NOW
    assert open_kinds(engine, "m1", "MER") == set()


def test_the_clock_still_reaches_an_event_dated_ahead_once_time_has_caught_up() -> None:
    engine = bootstrap.build().engine
    judge(engine, engine_event(recorded(MER_DUTY, case="m1", force="MER", **SERIOUS)), NOW)
    judge(engine, engine_event(recorded(AHEAD)), NOW)
    later = judge(engine, engine_event(referred(AHEAD, case="x", force="LAN")), micros(AHEAD))
    assert not isinstance(later, Exception)
    assert engine.clock == micros(AHEAD)
    assert open_kinds(engine, "m1", "MER") == {"missed_referral"}


def test_the_clock_is_the_same_whatever_order_the_events_arrive_in() -> None:
    events = [
        (recorded(MER_DUTY, case="m1", force="MER", **SERIOUS), micros(MER_DUTY) + 1),
        (recorded(AHEAD), NOW),
        (recorded("2026-03-10T01:00:00Z", case="l1", force="LAN"), NOW - 1),
    ]
    clocks = set()
    for order in (events, events[::-1], events[1:] + events[:1]):
        engine = bootstrap.build().engine
        for raw, received_at in order:
            judge(engine, engine_event(raw), received_at)
        clocks.add(engine.clock)
    assert clocks == {NOW}


def run_at(now_us: int, events: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    """`refmon run` with the wall clock at `now_us`."""
    out, err = io.StringIO(), io.StringIO()
    data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    env = Environment(
        stdin=io.BytesIO(data),
        stdout=out,
        stderr=err,
        stderr_isatty=False,
        wall_clock=lambda: now_us / 1_000_000,
    )
    findings = tmp_path / "findings.jsonl"
    status = main(["run", "--input", "-", "--findings", str(findings), "-q"], env)
    assert status == 0, err.getvalue()
    report: dict[str, Any] = json.loads(out.getvalue())
    report["found"] = [json.loads(line) for line in findings.read_text().splitlines()]
    return report


def test_refmon_run_caps_the_clock_at_when_it_read_its_input(tmp_path: Path) -> None:
    mer = recorded(MER_DUTY, case="m1", force="MER", **SERIOUS)
    before = run_at(NOW, [mer], tmp_path)
    after = run_at(NOW, [mer, recorded(AHEAD)], tmp_path)
    assert after["as_of"] == format_utc(NOW)
    assert [f for f in after["found"] if f["force"] == "MER"] == before["found"] == []


def test_a_replay_of_past_data_is_unaffected_by_when_it_is_run(tmp_path: Path) -> None:
    events = [recorded(MER_DUTY, case="m1", force="MER", **SERIOUS), recorded(AHEAD)]
    soon = run_at(micros(AHEAD), events, tmp_path)
    years_later = run_at(micros("2031-01-01T00:00:00Z"), events, tmp_path)
    assert soon == years_later
    assert soon["as_of"] == AHEAD
