"""The case changelog: what the workers keep on Kafka, and how an engine is rebuilt from it.

One record per delivery, keyed `FORCE/case_id@source`, in the compact encoding
(`refmon.streams.codec`): appending an event is one small write, and a record
written twice (a crash between a write and its commit) is the same record.
The topic is compacted and read as its latest value per key.

Releases before 0.2 (the Faust worker) kept one entry per case holding every
raw event and the sources it came from. Such entries are still read: each
becomes its deliveries, validated once on the way (`migrate_entry`), and the
worker rewrites them in the compact encoding when it restores the partition.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

from refmon.schemas.events import EventAdapter
from refmon.streams.codec import Delivery, Source, decode_delivery
from refmon.streams.engine import Engine
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire import to_engine_event

log = logging.getLogger("refmon.changelog")


def is_legacy_key(key: bytes) -> bool:
    """An earlier release's case entry: its key is the JSON string `"FORCE/case_id"`."""
    return key[:1] == b'"'


def migrate_entry(value: bytes, adapter: EventAdapter, topics: Topics) -> list[Delivery]:
    """An earlier release's case entry as deliveries: one per distinct source of each event.

    An event 0.1 accepted that the contract's stricter checks now refuse (an
    infinite sentence, `schema_version` 1.0, over 100 linked cases) is left out
    and logged by where it came from: judged today, it would be a dead letter.
    """
    entry = json.loads(value)
    deliveries: list[Delivery] = []
    for event_id, sources in entry["sources"].items():
        raw = entry["events"].get(event_id)
        if raw is None:
            continue  # an id stored under another case: its sources only counted duplicates
        try:
            event = to_engine_event(adapter.validate_json(raw))
        except ValueError as err:
            log.error(
                "an event 0.1 stored from %s breaks today's contract and is left out: %s",
                ", ".join(sources),
                type(err).__name__,
            )
            continue
        for where in sources:
            topic, partition, offset = where.rsplit(":", 2)
            name = topics.source_of(topic) or topic
            deliveries.append(Delivery(Source(name, int(partition), int(offset)), event))
    return deliveries


def deliveries(
    records: Mapping[bytes, bytes | None], adapter: EventAdapter, topics: Topics
) -> list[Delivery]:
    """Every delivery held by a changelog's latest values (deletions dropped)."""
    found: list[Delivery] = []
    for key, value in records.items():
        if value is None:
            continue
        if is_legacy_key(key):
            found.extend(migrate_entry(value, adapter, topics))
        else:
            found.append(decode_delivery(value))
    return found


def replay_order(delivery: Delivery) -> tuple[int, str, str, int, int]:
    """Event-time order, ties settled by id and source: any arrival order gives one replay."""
    source, event = delivery
    return (event.occurred_at_us, event.event_id, source.name, source.partition, source.offset)


def rebuild(engine: Engine, held: Iterable[Delivery]) -> None:
    """Apply a changelog's deliveries to a fresh engine; repeats count as duplicates."""
    for delivery in sorted(held, key=replay_order):
        engine.apply(delivery.event)
