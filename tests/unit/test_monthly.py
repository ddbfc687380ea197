"""The monthly series: calendar months in Europe/London, clipped to the window, adding up."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine.months import month_of, month_spans
from refmon.streams.engine.timeutil import MICROS_PER_DAY, format_utc
from refmon.streams.wire.encode import SERIES_KEYS, dumps_report, pretty_json

from tests.factories import judge, micros, received, recorded, referred

LONDON = ZoneInfo("Europe/London")
WINDOW_TOTALS = ("recorded", "mandatory", "due", "on_time", "late", "overdue", "pending")


def test_a_window_ending_mid_month_has_a_partial_month_at_each_end() -> None:
    spans = month_spans(micros("2026-03-15T12:00:00Z"), 60, LONDON)
    assert [s.label for s in spans] == ["2026-01", "2026-02", "2026-03"]
    assert [s.partial for s in spans] == [True, False, True]
    assert format_utc(spans[0].start) == "2026-01-14T12:00:00Z"
    assert format_utc(spans[-1].end) == "2026-03-15T12:00:00Z"


def test_months_follow_london_midnights_across_the_clock_change() -> None:
    spans = month_spans(micros("2026-05-01T00:00:00Z"), 60, LONDON)
    april = next(s for s in spans if s.label == "2026-04")
    # London is on BST (UTC+1) from 29 March: April starts at 23:00 UTC on 31 March.
    assert format_utc(april.start) == "2026-03-31T23:00:00Z"
    assert format_utc(april.end) == "2026-04-30T23:00:00Z"


def test_a_report_as_of_a_months_first_midnight_ends_on_a_whole_month() -> None:
    spans = month_spans(micros("2026-02-01T00:00:00Z"), 31, LONDON)
    assert [(s.label, s.partial) for s in spans] == [("2026-01", False)]


def test_an_event_at_exactly_midnight_on_the_first_belongs_to_the_month_before() -> None:
    spans = month_spans(micros("2026-03-15T00:00:00Z"), 90, LONDON)
    ends = [s.end for s in spans]
    assert spans[month_of(ends, micros("2026-02-01T00:00:00Z"))].label == "2026-01"
    assert spans[month_of(ends, micros("2026-02-01T00:00:00.000001Z"))].label == "2026-02"


def _row(report: dict[str, Any], force: str) -> dict[str, Any]:
    return next(r for r in report["forces"] if r["force"] == force)


def test_each_case_is_counted_in_its_month_and_the_months_add_up_to_the_window() -> None:
    events = [
        # January: on time, 5 hours after the duty.
        recorded("2026-01-10T10:00:00Z", case="a", categories=["serious_assault"]),
        received("2026-01-10T15:00:00Z", case="a"),
        # February: late (due by 00:00 on 3 Feb), and overdue; one not mandatory.
        recorded("2026-02-01T09:00:00Z", case="b", categories=["serious_assault"]),
        referred("2026-02-04T09:00:00Z", case="b"),
        recorded("2026-02-10T09:00:00Z", case="c", categories=["serious_corruption"]),
        recorded("2026-02-11T09:00:00Z", case="d"),
        # March: still pending at the as-of time.
        recorded("2026-03-14T20:00:00Z", case="e", categories=["serious_assault"]),
    ]
    engine = judge(events, as_of="2026-03-15T00:00:00Z")
    report = json.loads(dumps_report(engine.report(365)))
    dur = _row(report, "DUR")
    months = {m["month"]: m for m in dur["monthly"]}
    assert (months["2026-01"]["on_time"], months["2026-01"]["referral_delay_median_hours"]) == (
        1,
        5.0,
    )
    feb = months["2026-02"]
    assert (feb["recorded"], feb["mandatory"], feb["due"], feb["late"], feb["overdue"]) == (
        3,
        2,
        2,
        1,
        1,
    )
    assert feb["referred"] == 1
    assert feb["referral_delay_median_hours"] == 72.0
    assert (months["2026-03"]["pending"], months["2026-03"]["due"]) == (1, 0)
    assert months["2026-03"]["compliance"] is None
    for name in WINDOW_TOTALS:
        assert sum(m[name] for m in dur["monthly"]) == dur[name], name
    national = {m["month"]: m for m in report["national"]["monthly"]}
    assert national["2026-02"]["due"] == 2
    assert "referral_delay_median_hours" not in national["2026-02"]


def test_the_cusum_path_is_in_the_report_and_ends_where_the_force_row_does() -> None:
    events = []
    for day in range(1, 15):
        at = f"2026-01-{day:02d}T10:00:00Z"
        events.append(recorded(at, case=f"m{day}", force="MPS", categories=["serious_assault"]))
        events.append(received(at, case=f"m{day}", force="MPS"))
        events.append(recorded(at, case=f"d{day}", categories=["serious_assault"]))
    report = json.loads(dumps_report(judge(events, as_of="2026-02-01T00:00:00Z").report(365)))
    dur = _row(report, "DUR")
    path = dur["timeliness_path"]
    assert len(path) == 14
    assert path[-1]["cusum"] == dur["timeliness_cusum"]
    assert sum(p["signal"] for p in path) == dur["timeliness_signals"]
    assert _row(report, "KENT")["timeliness_path"] == []


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in SERIES_KEYS), inner, max_size=4
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_report_layout_is_json_dumps_with_indent_two_outside_the_series(value: Any) -> None:
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_series_hold_one_item_a_line_and_read_back_the_same() -> None:
    value = {"monthly": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": []}], "x": {"timeliness_path": []}}
    text = pretty_json(value)
    assert '    {"a": 1, "b": [1, 2]},\n' in text
    assert json.loads(text) == value


def test_a_window_of_a_year_spans_thirteen_months_at_most() -> None:
    as_of = micros("2025-12-31T23:59:13Z")
    spans = month_spans(as_of, 365, LONDON)
    assert len(spans) == 13
    assert spans[0].end - spans[0].start < MICROS_PER_DAY  # 47 seconds of 2024-12
