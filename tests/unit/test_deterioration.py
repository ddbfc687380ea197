"""A force whose referrals turn late signals on the CUSUM, through the engine and the JSON."""

from __future__ import annotations

import json
from typing import Any

from refmon.streams.engine import Engine
from refmon.streams.engine.timeutil import format_utc
from refmon.streams.wire.encode import dumps_report, finding_json

from tests.factories import judge, micros, received, recorded
from tests.worlds import day_at, one_late_force


def _report(engine: Engine) -> dict[str, Any]:
    return json.loads(dumps_report(engine.report(365)))


def test_a_run_of_late_referrals_signals_and_opens_a_force_level_finding() -> None:
    engine = judge(one_late_force(), as_of=day_at(60))
    report = _report(engine)
    dur = next(r for r in report["forces"] if r["force"] == "DUR")
    mps = next(r for r in report["forces"] if r["force"] == "MPS")
    assert report["national"]["timeliness_p0"] == 1 - 40 / 56
    # The 14th DUR case's duty arose on 18 January: due by 00:00 on the 20th.
    assert dur["timeliness_signalled_at"] == "2026-01-20T00:00:00Z"
    assert (dur["timeliness_signals"], dur["timeliness_status"]) == (1, "signal")
    assert dur["open_findings"]["deterioration"] == 1
    assert (mps["timeliness_status"], mps["timeliness_cusum"]) == ("ok", 0.0)
    found = [f for f in engine.findings() if f.kind == "deterioration"]
    assert [(f.force, f.status) for f in found] == [("DUR", "open")]
    body = finding_json(found[0])
    assert body["case_id"] is None
    assert body["duty_arose_at"] is None
    assert body["detected_at"] == "2026-01-20T00:00:00Z"
    assert body["ruleset"] == "ew-2020.1"
    # Force-level findings come first among the force's findings.
    assert next(f for f in engine.findings() if f.force == "DUR").kind == "deterioration"


def test_the_finding_resolves_90_days_after_the_signal_and_goes_with_the_window() -> None:
    ninety_days_on = micros("2026-01-20T00:00:00Z") + 90 * 86400 * 10**6
    engine = judge(one_late_force(), as_of=format_utc(ninety_days_on))
    engine.report(365)
    found = [f for f in engine.findings() if f.kind == "deterioration"]
    assert [(f.force, f.status) for f in found] == [("DUR", "resolved")]
    engine.advance(micros("2027-03-01T00:00:00Z"))
    report = _report(engine)
    assert not [f for f in engine.findings() if f.kind == "deterioration"]
    assert all(r["open_findings"]["deterioration"] == 0 for r in report["forces"])


def test_cases_due_at_the_same_deadline_are_one_step() -> None:
    events = [
        recorded("2026-03-02T01:00:00Z", case="a", categories=["serious_assault"]),
        recorded("2026-03-02T23:30:00Z", case="b", categories=["serious_assault"]),
        received("2026-03-02T02:00:00Z", case="a"),
        recorded("2026-03-03T09:00:00Z", case="c", categories=["serious_assault"]),
    ]
    counts = judge(events, as_of="2026-03-10T00:00:00Z").held_force_counts(365)["DUR"]
    assert [tuple(s) for s in counts.timeliness] == [
        (micros("2026-03-04T00:00:00Z"), 2, 1),
        (micros("2026-03-05T00:00:00Z"), 1, 1),
    ]
