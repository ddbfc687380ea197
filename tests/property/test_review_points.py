"""A review point is judged on what was known by then (docs/contract.md section 14): the counts
`review_counts` derives from the whole history equal those of an engine that saw only
the events dated at or before the review point."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine.counts import count_force
from refmon.streams.engine.review import review_counts

from tests.factories import judge, micros
from tests.property.strategies import event_specs, wire

AS_OF = "2026-04-10T00:00:00Z"
# Review points straddled by the strategy's week (it starts 2026-03-27), and one with no
# event before it but the first one.
EXTRA_POINT = micros("2026-04-01T00:00:00+01:00")


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


@settings(max_examples=250, deadline=None)
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
    decided = full._decided  # the engine's own history of repeated decisions
    for force in full.forces:
        (reviewed,) = review_counts(full._cases[force], (point,), window_days, decided[force])
        known = count_force(then._cases[force].values(), point, window_days, full.ruleset.zone)
        assert _plain(reviewed) == _plain(known), force
