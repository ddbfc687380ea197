"""`explain` does work in proportion to a case's events, not to their square.

Counted, not timed: the lines the explanation module itself executes (a
tracer, deterministic) for a case of n and of 2n events.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from refmon.streams.engine import Engine
from refmon.streams.engine.explain import explain
from refmon.streams.engine.model import Allegation, CaseFacts, Event
from refmon.streams.rulesets import load_ruleset

MINUTE_US = 60_000_000
T0 = 1_767_600_000_000_000  # 2026-01-05


def _facts(serious: bool, linked: tuple[str, ...] = ()) -> CaseFacts:
    category = "serious_assault" if serious else "other"
    return CaseFacts("complaint", "none", (Allegation("a1", category),), linked_case_ids=linked)


def _story(n: int) -> list[tuple[int, Event]]:
    """Y is mandatory; X links to it (its duty is same_incident) and is updated n times,
    arriving newest first so that every event arrived out of order."""
    events = [Event("y", "case.recorded", "DUR", "Y", T0, _facts(True))]
    for k in range(n):
        kind = "case.recorded" if k == 0 else "case.updated"
        at = T0 + k * MINUTE_US
        events.append(Event(f"x{k}", kind, "DUR", "X", at, _facts(k % 2 == 1, ("Y",))))
    return list(enumerate([events[0], *events[:0:-1]], start=1))


def _lines_executed(n: int) -> int:
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        count += event == "line"
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.endswith("engine/explain.py") else None

    engine = Engine(load_ruleset(), ["DUR"])
    sys.settrace(tracer)
    try:
        story = explain(engine, "DUR", "X", _story(n), None)
    finally:
        sys.settrace(None)
    first = next(s for s in story.steps if s.event is not None and s.event.event_id == "x0")
    assert first.out_of_order_after == 2  # x{n-1}, the first of X's events to arrive
    return count


def test_explaining_twice_the_events_does_about_twice_the_work() -> None:
    small, large = _lines_executed(300), _lines_executed(600)
    assert large < 2.5 * small
