"""Case state as the workers keep it in their table, and rebuilding an engine from it.

A table entry holds a case's distinct events, raw, and where each arrived from
(`topic:partition:offset`). Re-delivery after a crash repeats a source, so it
changes nothing; a real duplicate (the same event id sent again) adds a source
and is counted once, however often it is re-delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from refmon.schemas.events import EventAdapter
from refmon.streams.engine import Engine, Event
from refmon.streams.wire import to_engine_event

Entry = dict[str, Any]
"""{"partition": p, "events": {event_id: raw JSON text}, "sources": {event_id: [source, ...]}}"""


def case_key(force: str, case_id: str) -> str:
    return f"{force}/{case_id}"


def with_event(
    entry: Entry | None, event_id: str, raw: str | None, source: str, partition: int = 0
) -> tuple[Entry, bool]:
    """The entry with this delivery folded in, and whether the source is new.

    `raw` is None when the event is stored under another case already (an id
    reused across cases): only its source is kept, for the duplicate count.
    """
    events: dict[str, str] = dict(entry["events"]) if entry else {}
    sources: dict[str, list[str]] = (
        {k: list(v) for k, v in entry["sources"].items()} if entry else {}
    )
    seen = sources.setdefault(event_id, [])
    fresh = source not in seen
    if fresh:
        seen.append(source)
        if raw is not None and event_id not in events:
            events[event_id] = raw
    return {"partition": partition, "events": events, "sources": sources}, fresh


def duplicates(entries: Iterable[Entry]) -> int:
    """Deliveries from distinct sources beyond the first, over all entries."""
    return sum(sum(len(s) for s in e["sources"].values()) - len(e["events"]) for e in entries)


def stored_events(entries: Iterable[Entry], adapter: EventAdapter) -> list[Event]:
    """Every stored event, in event-time order (ties by id), as a replay would apply them."""
    events = [
        to_engine_event(adapter.validate_json(raw))
        for entry in entries
        for raw in entry["events"].values()
    ]
    events.sort(key=lambda e: (e.occurred_at_us, e.event_id))
    return events


def rebuild(engine: Engine, entries: Mapping[str, Entry], adapter: EventAdapter) -> None:
    """Apply a table's worth of cases to a fresh engine."""
    values = list(entries.values())
    for event in stored_events(values, adapter):
        engine.apply(event)
    engine.duplicate += duplicates(values)
