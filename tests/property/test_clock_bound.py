"""An accepted event dated ahead moves the clock no further than when it was received
(docs/contract.md section 13), whatever the stream and wherever the event falls in it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from refmon.streams.engine import Engine
from refmon.streams.engine.timeutil import format_utc
from refmon.streams.runner.embedded import judge as runner_judge
from refmon.streams.wire.encode import finding_json

from refmon import bootstrap
from tests.factories import engine_event, micros, recorded
from tests.property.strategies import event_specs, wire

RECEIVED = "2026-04-10T00:00:00Z"


def others(engine: Engine, force: str) -> list[str]:
    return sorted(
        json.dumps(finding_json(f))
        for f in engine.findings()
        if f.force != force and f.status == "open"
    )


@settings(max_examples=150, deadline=None)
@given(event_specs(), st.data())
def test_an_event_dated_up_to_a_day_ahead_changes_no_other_force_findings_nor_the_clock(
    events: list[dict[str, Any]], data: st.DataObject
) -> None:
    received = micros(RECEIVED)
    ahead = data.draw(st.integers(1, 24 * 60), label="minutes ahead")
    force = data.draw(st.sampled_from(("DUR", "MPS", "LAN")), label="force ahead")
    at = format_utc(received + ahead * 60_000_000)
    ahead_event = {**recorded(at, case="ahead", force=force), "event_id": "ahead"}
    stream = wire(events)
    stream.insert(data.draw(st.integers(0, len(stream))), ahead_event)

    def through_the_runner(raw: list[dict[str, Any]]) -> Engine:
        engine = bootstrap.build().engine
        for event in raw:
            runner_judge(engine, engine_event(event), received)
        engine.advance(received)  # time has passed up to when the events were received
        return engine

    clean, noisy = through_the_runner(wire(events)), through_the_runner(stream)
    assert noisy.clock == clean.clock == received
    assert others(noisy, force) == others(clean, force)
