"""The result depends only on the set of distinct valid events and the as-of time (section 7)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Engine
from refmon.streams.engine.timeutil import format_utc
from refmon.streams.judging import judge as runner_judge
from refmon.streams.wire.encode import dumps_report, finding_json

from refmon import bootstrap
from tests.factories import _apply, engine_event, judge, micros
from tests.property.strategies import OFFSETS, event_specs, wire

AS_OF = "2026-04-10T00:00:00Z"


def outcome(engine: Engine, with_counts: bool = True) -> tuple[str, list[str]]:
    report = json.loads(dumps_report(engine.report(365)))
    if not with_counts:
        report.pop("events")
    opened = sorted(json.dumps(finding_json(f)) for f in engine.findings() if f.status == "open")
    return json.dumps(report), opened


@settings(max_examples=250, deadline=None)
@given(event_specs(), st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_report_and_open_findings(
    events: list[dict[str, Any]], rnd: Any
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert outcome(judge(wire(shuffled), AS_OF)) == outcome(judge(wire(events), AS_OF))


@settings(max_examples=200, deadline=None)
@given(event_specs(), st.data())
def test_duplicates_anywhere_change_nothing_but_the_duplicate_count(
    events: list[dict[str, Any]], data: st.DataObject
) -> None:
    copies = data.draw(st.lists(st.sampled_from(events), min_size=1, max_size=6))
    stream = list(events)
    for copy in copies:
        stream.insert(data.draw(st.integers(0, len(stream))), copy)
    once, again = judge(wire(events), AS_OF), judge(wire(stream), AS_OF)
    assert outcome(again, with_counts=False) == outcome(once, with_counts=False)
    assert (again.valid, again.duplicate) == (once.valid, len(copies))


@settings(max_examples=200, deadline=None)
@given(event_specs(), st.data())
def test_a_run_split_at_any_point_with_clock_ticks_between_gives_the_same_result(
    events: list[dict[str, Any]], data: st.DataObject
) -> None:
    ordered = sorted(events, key=lambda e: e["_at"])
    cut = data.draw(st.integers(0, len(ordered)))
    first, rest = ordered[:cut], ordered[cut:]
    engine = judge(wire(first))
    if rest:
        # A wall-clock tick between the halves, no later than the next event.
        tick = (
            data.draw(st.integers(0, 1000))
            * (micros(wire(rest)[0]["occurred_at"]) - (engine.clock or 0))
            // 1000
        )
        engine.advance((engine.clock or 0) + tick)
        engine.report(365)  # reading in between has no effect
    for e in wire(rest):
        _apply(engine, e)
    engine.advance(micros(AS_OF))
    assert outcome(engine) == outcome(judge(wire(events), AS_OF))


@settings(max_examples=150, deadline=None)
@given(event_specs(), st.lists(st.sampled_from(OFFSETS), min_size=1, max_size=4))
def test_the_same_instants_written_with_any_offsets_give_byte_identical_results(
    events: list[dict[str, Any]], offsets: list[Any]
) -> None:
    assert outcome(judge(wire(events, offsets), AS_OF)) == outcome(judge(wire(events), AS_OF))


@settings(max_examples=150, deadline=None)
@given(event_specs(), st.data())
def test_a_future_dated_event_anywhere_changes_nothing_but_the_dead_letter_count(
    events: list[dict[str, Any]], data: st.DataObject
) -> None:
    received = micros(AS_OF)
    ahead = data.draw(st.integers(24 * 60 + 1, 900 * 365 * 24 * 60), label="minutes ahead")
    template = data.draw(st.sampled_from(events))
    future = {
        **{k: v for k, v in template.items() if k != "_at"},
        "event_id": "future",
        "occurred_at": format_utc(received + ahead * 60_000_000),
    }
    stream = wire(events)
    stream.insert(data.draw(st.integers(0, len(stream))), future)

    def through_the_runner(raw: list[dict[str, Any]]) -> tuple[Engine, list[str]]:
        engine = bootstrap.build().engine
        verdicts = [runner_judge(engine, engine_event(e), received) for e in raw]
        engine.advance(received)
        return engine, [v.code for v in verdicts if isinstance(v, Rejection)]

    clean, none = through_the_runner(wire(events))
    noisy, rejected = through_the_runner(stream)
    assert (none, rejected) == ([], ["future_timestamp"])
    assert outcome(noisy) == outcome(clean)
