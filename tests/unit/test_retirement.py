"""Retiring cases that can no longer change any output changes no output (issue 10)."""

from __future__ import annotations

import json
from typing import Any

from refmon.streams.engine import Engine
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.wire.encode import dumps_report, finding_json

from refmon import bootstrap
from tests.cli import run_cli
from tests.factories import closed, engine_event, judge, recorded, referred

WINDOW = 365
MARGIN = 30


def outcome(engine: Engine) -> tuple[str, list[str]]:
    return dumps_report(engine.report(WINDOW)), [
        json.dumps(finding_json(f)) for f in engine.findings()
    ]


def two_years() -> list[dict[str, Any]]:
    result = run_cli(
        [
            "simulate",
            "--start",
            "2024-01-01",
            "--days",
            "800",
            "--scale",
            "0.05",
            "--seed",
            "3",
            "--under-refer",
            "DUR",
            "-q",
        ]
    )
    assert result.status == 0
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_retiring_old_cases_as_the_clock_moves_leaves_the_report_and_findings_unchanged() -> None:
    events = two_years()
    whole, retiring = bootstrap.new_engine(), bootstrap.new_engine()
    last_pass, retired = None, 0
    for raw in events:
        event = engine_event(raw)
        whole.apply(event)
        retiring.apply(event)
        clock = retiring.clock or 0
        if last_pass is None or clock - last_pass >= 30 * MICROS_PER_DAY:
            last_pass = clock
            before = clock - (WINDOW + MARGIN) * MICROS_PER_DAY
            for force, case_id in retiring.retirable(before):
                retiring.retire(force, case_id)
                retired += 1
    assert retired > 1000  # the comparison is not vacuous
    assert retiring.case_count() + retired == whole.case_count()
    assert outcome(retiring) == outcome(whole)


def test_a_restored_engine_absorbs_retired_cases_and_judges_late_repeats_alike() -> None:
    first = recorded("2024-01-02T10:00:00Z", case="old", categories=["serious_assault"])
    late_referral = referred("2024-01-09T10:00:00Z", case="old")
    now = recorded("2025-06-01T10:00:00Z", case="new")
    engine = judge([first, late_referral, closed("2024-01-10T10:00:00Z", case="old"), now])
    assert engine.retirable(engine.clock or 0) == [("DUR", "old")]
    gone = engine.retire("DUR", "old")
    assert {(f.kind, f.status) for f in gone.findings} == {
        ("late_referral", "open"),
        ("missed_referral", "resolved"),
        ("unconfirmed_referral", "open"),
    }

    restored = judge([now])
    ids = [("DUR", e["event_id"]) for e in (first, late_referral)]
    restored.absorb(gone, [*ids, ("DUR", "never-sent")], valid=3, duplicate=0)
    assert outcome(restored)[1] == outcome(engine)[1]
    again = engine_event(first)
    assert engine.apply(again).duplicate
    assert restored.apply(again).duplicate  # a repeat of a retired event is still a repeat
    news = engine_event(closed("2025-06-02T10:00:00Z", case="old"))
    assert engine.apply(news).outcome == restored.apply(news).outcome == "retired"
