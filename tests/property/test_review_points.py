"""A review point is judged on what was known by then (docs/contract.md section 14): the counts
`review_counts` derives from the whole history equal those of an engine that saw only
the events dated at or before the review point."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine.counts import count_force

from tests.factories import judge, micros
from tests.property.strategies import BASE, event_specs, wire

AS_OF = "2026-04-10T00:00:00Z"
# Review points straddled by the strategy's week (it starts 2026-03-27), and one with no
# event before it but the first one.
EXTRA_POINT = micros("2026-04-01T00:00:00+01:00")
ZONE = ZoneInfo("Europe/London")


def _plain(counts: Any) -> tuple[Any, ...]:
    return (
        counts.recorded,
        counts.mandatory,
        counts.voluntary,
        counts.due,
        counts.on_time,
        counts.late,
        counts.overdue,
        counts.pending,
        dict(counts.decisions),
        counts.timeliness,
    )


def _reviewed(full: Any, force: str, point: int, window_days: int) -> Any:
    """The engine's own review counts of one force at one point (zero if it holds none)."""
    held = full.held_review_counts((point,), window_days)
    return held[force][0] if force in held else count_force((), point, window_days, ZONE)


@settings(max_examples=500, deadline=None)
@given(event_specs(), st.sampled_from([1, 2, 5, 365]), st.data())
def test_counts_at_a_review_point_are_those_known_then(
    events: list[dict[str, Any]], window_days: int, data: st.DataObject
) -> None:
    full = judge(wire(events), AS_OF)
    # Any instant in the strategy's span works as a review point for this check.
    point = data.draw(
        st.sampled_from([EXTRA_POINT, *(micros(e["occurred_at"]) for e in wire(events))])
    )
    then = judge(wire([e for e in events if micros(wire([e])[0]["occurred_at"]) <= point]))
    then.advance(point)
    for force in full.forces:
        reviewed = _reviewed(full, force, point, window_days)
        known = count_force(then._cases[force].values(), point, window_days, ZONE)
        assert _plain(reviewed) == _plain(known), force


@settings(max_examples=200, deadline=None)
@given(
    event_specs(),
    st.lists(st.integers(0, 8 * 24 * 60 // 90), min_size=4, max_size=4),
    st.sampled_from([1, 2, 5, 365]),
    st.data(),
)
def test_counts_at_a_review_point_are_those_known_then_through_late_recorded_links(
    events: list[dict[str, Any]], slots: list[int], window_days: int, data: st.DataObject
) -> None:
    """The shape the property above rarely draws: a link to a case whose facts meet a
    criterion before its own recording, among other events (ids apart from theirs)."""
    at = [BASE + timedelta(minutes=90 * slot) for slot in slots]
    shape = [
        _facts("s1", "case.recorded", "c1", at[0].isoformat(), "other", []),
        _facts("s2", "case.updated", "c1", at[1].isoformat(), "other", ["c2"]),
        _facts("s3", "case.updated", "c2", at[2].isoformat(), "serious_assault", []),
        _facts("s4", "case.recorded", "c2", at[3].isoformat(), "other", []),
    ]
    stream = wire(events) + shape
    full = judge(stream, AS_OF)
    point = data.draw(st.sampled_from([EXTRA_POINT, *(micros(e["occurred_at"]) for e in stream)]))
    then = judge([e for e in stream if micros(e["occurred_at"]) <= point])
    then.advance(point)
    for force in full.forces:
        reviewed = _reviewed(full, force, point, window_days)
        known = count_force(then._cases[force].values(), point, window_days, ZONE)
        assert _plain(reviewed) == _plain(known), force


def _facts(event_id: str, kind: str, case: str, at: str, category: str, links: list[str]) -> Any:
    return {
        "schema_version": 1,
        "event_id": event_id,
        "event_type": kind,
        "force": "DUR",
        "case_id": case,
        "occurred_at": at,
        "payload": {
            "case_kind": "complaint",
            "harm": "none",
            "allegations": [{"allegation_id": "a1", "category": category}],
            "force_assessment": {"mandatory": True, "criteria": []},
            "linked_case_ids": links,
        },
    }


def _linked_late_recording() -> list[dict[str, Any]]:
    """c1 links to c2 on 31 March; c2's facts meet a criterion on 27 March, but c2 is
    recorded only on 2 April: its facts wait until then (section 7)."""
    return [
        _facts("e1", "case.recorded", "c1", "2026-03-27T00:00:00+00:00", "other", []),
        _facts("e2", "case.updated", "c1", "2026-03-31T00:00:00+00:00", "other", ["c2"]),
        _facts("e3", "case.updated", "c2", "2026-03-27T00:00:00+00:00", "serious_assault", []),
        _facts("e4", "case.recorded", "c2", "2026-04-02T00:00:00+00:00", "serious_assault", []),
    ]


def test_a_link_to_a_case_recorded_after_the_review_point_gives_no_duty_then() -> None:
    events = _linked_late_recording()
    full = judge(events, AS_OF)
    then = judge([e for e in events if micros(e["occurred_at"]) <= EXTRA_POINT])
    then.advance(EXTRA_POINT)
    reviewed = _reviewed(full, "DUR", EXTRA_POINT, 5)
    known = count_force(then._cases["DUR"].values(), EXTRA_POINT, 5, ZONE)
    assert (known.recorded, known.mandatory) == (1, 0)  # c1 only, and no duty known yet
    assert _plain(reviewed) == _plain(known)


def test_the_linked_duty_counts_from_the_linked_case_recording_on() -> None:
    full = judge(_linked_late_recording(), AS_OF)
    after = micros("2026-04-03T00:00:00+01:00")
    reviewed = _reviewed(full, "DUR", after, 30)
    # c1's duty (31 March, through c2) is known once c2 is recorded; c2 is mandatory too.
    assert (reviewed.recorded, reviewed.mandatory) == (2, 2)


def test_a_case_whose_duty_became_known_late_is_not_retired() -> None:
    full = judge(_linked_late_recording(), "2028-01-01T00:00:00Z")
    # c2 retires like any quiet case; c1 keeps its steps, which retired times cannot.
    assert ("DUR", "c1") not in full.retirable(micros("2027-06-01T00:00:00Z"))
    assert ("DUR", "c2") in full.retirable(micros("2027-06-01T00:00:00Z"))
