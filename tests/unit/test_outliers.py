"""Outlier management (docs/contract.md section 14), read independently on a hand-built world.

Deadlines were counted by hand from the calendar: "due in N working days after t"
is 24:00 Europe/London of the Nth Monday-to-Friday after t's local date that is
not an England and Wales bank holiday (December is GMT, so 24:00 local is 00:00Z).
"""

from __future__ import annotations

import json
from typing import Any

from refmon.streams.engine import Engine
from refmon.streams.wire.encode import report_json

from tests.factories import _apply, judge, micros
from tests.outlier_world import OPENED_AT, OUTLIER, action, background

CHECKED = action("outlier.checked", "2025-12-10T10:00:00Z", "w-check", outcome="confirmed")
NOTIFIED = action("outlier.notified", "2025-12-19T09:00:00Z", "w-notify")


def outliers(engine: Engine) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = report_json(engine.report(365))["outliers"]
    return found


def overdue_findings(engine: Engine) -> list[Any]:
    engine.report(365)
    return [f for f in engine.findings() if f.kind == "outlier_overdue"]


def test_a_flagged_measure_opens_an_outlier_at_the_month_end_awaiting_the_data_check() -> None:
    (found,) = outliers(judge(background(), "2025-12-05T00:00:00Z"))
    assert found["outlier_id"] == OUTLIER
    assert (found["force"], found["measure"], found["level"]) == ("DUR", "compliance", "alert")
    assert found["z"] is not None
    assert found["z"] < -1.959964
    assert found["opened_at"] == OPENED_AT
    assert (found["state"], found["awaits"], found["owner"]) == (
        "data_check",
        "outlier.checked",
        "watchdog",
    )
    # 10 working days after Monday 1 December: Tuesday 2 ... Monday 15 December.
    assert found["due"] == "2025-12-16T00:00:00Z"
    assert not found["overdue"]
    assert found["history"] == []


def test_no_outlier_before_the_first_review_point() -> None:
    assert outliers(judge(background(), "2025-11-30T23:59:59Z")) == []


def test_deadlines_skip_weekends_and_christmas_bank_holidays() -> None:
    engine = judge([*background(), CHECKED, NOTIFIED], "2026-01-20T00:00:00Z")
    (found,) = outliers(engine)
    assert found["state"] == "awaiting_response"
    assert (found["awaits"], found["owner"]) == ("outlier.responded", "force")
    # 25 working days after Friday 19 December, skipping 25 and 26 December and
    # 1 January: Wednesday 28 January is the 25th (without holidays: 23 January).
    assert found["due"] == "2026-01-29T00:00:00Z"
    assert not found["overdue"]
    assert [h["event_id"] for h in found["history"]] == ["w-check", "w-notify"]
    assert found["history"][0]["outcome"] == "confirmed"


def test_an_overdue_outlier_has_an_open_finding_naming_the_action_and_who_owes_it() -> None:
    engine = judge([*background(), CHECKED, NOTIFIED], "2026-02-10T00:00:00Z")
    (found,) = outliers(engine)
    assert found["overdue"]
    (finding,) = overdue_findings(engine)
    assert finding.status == "open"
    assert (finding.force, finding.case_id, finding.criteria) == ("DUR", OUTLIER, ())
    assert finding.detected_at == judge([], "2026-01-29T00:00:00Z").clock
    assert "outlier.responded" in finding.summary
    assert "force" in finding.summary
    row = next(r for r in engine.report(365).forces if r.force == "DUR")
    assert row.open_findings["outlier_overdue"] == 1


def test_the_overdue_finding_resolves_when_the_awaited_action_arrives() -> None:
    late = action("outlier.responded", "2026-02-02T12:00:00Z", "f-resp")
    explained = action("outlier.reviewed", "2026-02-05T12:00:00Z", "w-rev", outcome="explained")
    engine = judge([*background(), CHECKED, NOTIFIED, late, explained], "2026-02-10T00:00:00Z")
    (found,) = outliers(engine)
    assert (found["state"], found["close_reason"]) == ("closed", "explained")
    assert found["closed_at"] == "2026-02-05T12:00:00Z"
    assert (found["awaits"], found["owner"], found["due"], found["overdue"]) == (
        None,
        None,
        None,
        False,
    )
    (finding,) = overdue_findings(engine)
    assert finding.status == "resolved"
    assert finding.detected_at == judge([], "2026-01-29T00:00:00Z").clock


def test_actions_too_early_not_awaited_or_after_closing_are_ignored_and_counted() -> None:
    at_opening = action("outlier.checked", OPENED_AT, "w-early", outcome="data_error")
    not_awaited = action("outlier.responded", "2025-12-05T09:00:00Z", "f-early")
    data_error = action("outlier.checked", "2025-12-11T09:00:00Z", "w-de", outcome="data_error")
    after = action("outlier.closed", "2025-12-12T09:00:00Z", "w-after", reason="satisfied")
    engine = judge(
        [*background(), at_opening, not_awaited, CHECKED, data_error, after],
        "2025-12-20T00:00:00Z",
    )
    (found,) = outliers(engine)
    # The confirmation moved it to `notify`, which awaits no second check; the
    # watchdog's `outlier.closed` closes any open state.
    assert (found["state"], found["close_reason"]) == ("closed", "satisfied")
    assert [h["event_id"] for h in found["history"]] == ["w-check", "w-after"]
    assert found["ignored_actions"] == 3
    (found,) = outliers(
        judge([*background(), at_opening, data_error, after], "2025-12-20T00:00:00Z")
    )
    assert (found["state"], found["close_reason"]) == ("closed", "data_error")
    assert found["ignored_actions"] == 2


def test_outlier_closed_closes_any_open_state_with_its_reason() -> None:
    withdrawn = action("outlier.closed", "2025-12-03T09:00:00Z", "w-close", reason="withdrawn")
    (found,) = outliers(judge([*background(), withdrawn], "2025-12-20T00:00:00Z"))
    assert (found["state"], found["close_reason"]) == ("closed", "withdrawn")
    assert found["history"][0]["reason"] == "withdrawn"


def test_at_most_one_outlier_a_quarter_per_force_and_measure() -> None:
    closed = action("outlier.checked", "2025-12-02T09:00:00Z", "w-de", outcome="data_error")
    engine = judge([*background(), closed], "2026-03-05T00:00:00Z")
    # Still flagged at every month end; closed early, yet none opens on 1 January or
    # 1 February (the two review points after the opening), one on 1 March.
    assert [(o["outlier_id"], o["opened_at"]) for o in outliers(engine)] == [
        (OUTLIER, OPENED_AT),
        ("compliance-2026-02", "2026-03-01T00:00:00Z"),
    ]


def test_an_open_outlier_blocks_a_new_one_for_the_same_measure() -> None:
    engine = judge(background(), "2026-03-05T00:00:00Z")
    assert [o["outlier_id"] for o in outliers(engine)] == [OUTLIER]


def test_an_action_for_an_outlier_not_yet_open_is_kept_and_applied_when_it_opens() -> None:
    # Sent before the review point that opens it (it is dated after the opening).
    early = action("outlier.checked", "2025-12-02T09:00:00Z", "w-check", outcome="confirmed")
    engine = judge([early], "2025-11-01T00:00:00Z")
    assert outliers(engine) == []
    for raw in background():
        _apply(engine, raw)
    engine.advance(judge([], "2025-12-05T00:00:00Z").clock or 0)
    (found,) = outliers(engine)
    assert found["state"] == "notify"


def test_an_action_for_an_outlier_that_never_opens_changes_nothing() -> None:
    stray = action(
        "outlier.checked", "2025-12-02T09:00:00Z", "w-x", "timeliness-2025-11", outcome="confirmed"
    )
    plain = judge(background(), "2025-12-20T00:00:00Z")
    with_stray = judge([*background(), stray], "2025-12-20T00:00:00Z")
    assert json.dumps(outliers(with_stray)) == json.dumps(outliers(plain))
    assert with_stray.valid == plain.valid + 1


def test_outliers_are_sorted_by_force_then_opening_then_measure() -> None:
    found = outliers(judge(background(), "2026-06-05T00:00:00Z"))
    keys = [(o["force"], o["opened_at"]) for o in found]
    assert keys == sorted(keys)


def test_the_outlier_says_who_owed_the_step_it_was_overdue_on() -> None:
    responded = action("outlier.responded", "2026-02-02T09:00:00Z", "f-respond")

    def owner(as_of: str, *actions: dict[str, Any]) -> str | None:
        (found,) = judge([*background(), *actions], as_of).outliers(365)
        return found.overdue_owner

    assert owner("2025-12-10T00:00:00Z") is None  # not yet overdue
    assert owner("2025-12-20T00:00:00Z") == "watchdog"  # the data check
    assert owner("2026-02-10T00:00:00Z", CHECKED, NOTIFIED) == "force"  # the response
    assert owner("2026-02-10T00:00:00Z", CHECKED, NOTIFIED, responded) == "force"  # late


def test_the_outlier_says_who_owed_each_step_by_its_deadline() -> None:
    # The response came late (due 2026-01-29), then the review fell overdue in turn: a
    # finding announced on the response's deadline was about the force's step.
    responded = action("outlier.responded", "2026-02-02T09:00:00Z", "f-respond")
    engine = judge([*background(), CHECKED, NOTIFIED, responded], "2026-04-15T00:00:00Z")
    (found,) = engine.outliers(365)
    assert (found.state, found.overdue_owner) == ("under_review", "watchdog")
    assert found.overdue_since == found.due
    assert found.owner_of_step_due(micros("2026-01-29T00:00:00Z")) == "force"
    assert found.owner_of_step_due(micros("2025-12-16T00:00:00Z")) == "watchdog"
    assert found.owner_of_step_due(micros("2026-01-30T00:00:00Z")) is None
    assert found.owner_of_step_due(None) is None


def test_the_report_carries_no_owner_of_an_overdue_step() -> None:
    # Section 14 lists the report's outlier fields: the engine's own bookkeeping stays out.
    (found,) = outliers(judge([*background(), CHECKED, NOTIFIED], "2026-02-10T00:00:00Z"))
    assert list(found) == [
        "outlier_id",
        "force",
        "measure",
        "level",
        "z",
        "opened_at",
        "state",
        "awaits",
        "owner",
        "due",
        "overdue",
        "closed_at",
        "close_reason",
        "ignored_actions",
        "history",
    ]
