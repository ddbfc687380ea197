"""The upgrade from 0.1 (the Faust worker), in one module so that it leaves in one commit.

0.1 differed in three ways, each met here and nowhere else:
- its changelog kept one entry per case (key: the JSON string `"FORCE/case_id"`) holding
  every raw event and the sources it came from: `upgraded` turns such entries into
  today's per-delivery records before anything reads them, and `rewrite` replaces them
  on the topic once the partition is restored;
- it forwarded by-force messages as JSON (`{"source", "event"}`): `migrate_forward`;
- it had one consumer group for everything, named by the prefix: an input partition
  the intake group has never committed on continues where that group had got to
  (`legacy_offsets`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping

from aiokafka import TopicPartition
from refmon.schemas.events import EventAdapter
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Delivery, Source, encode_delivery
from refmon.streams.wire.translate import to_engine_event
from refmon.streams.worker.messages import Outbound, case_record_key

log = logging.getLogger("refmon.changelog")


def is_legacy_key(key: bytes) -> bool:
    """An earlier release's case entry: its key is the JSON string `"FORCE/case_id"`."""
    return key[:1] == b'"'


def _legacy_source(where: str, topics: Topics) -> Source:
    """0.1's `topic:partition:offset` as a source."""
    topic, partition, offset = where.rsplit(":", 2)
    return Source(topics.source_of(topic) or topic, int(partition), int(offset))


def migrate_forward(value: bytes, adapter: EventAdapter, topics: Topics) -> Delivery:
    """A by-force message 0.1 forwarded (`{"source", "event"}`), as a delivery."""
    body = json.loads(value)
    event = to_engine_event(adapter.validate_json(body["event"]))
    return Delivery(_legacy_source(str(body["source"]), topics), event)


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
        deliveries += [Delivery(_legacy_source(where, topics), event) for where in sources]
    return deliveries


def upgraded(
    records: Mapping[bytes, bytes | None], adapter: EventAdapter, topics: Topics
) -> tuple[dict[bytes, bytes | None], list[bytes]]:
    """A changelog's latest values with 0.1's case entries replaced by today's records, and
    the keys of those entries (to delete once rewritten)."""
    legacy = [k for k, v in records.items() if is_legacy_key(k) and v is not None]
    current = {k: v for k, v in records.items() if not is_legacy_key(k)}
    for key in legacy:
        value = records[key]
        assert value is not None
        for delivery in migrate_entry(value, adapter, topics):
            current.setdefault(case_record_key(delivery), encode_delivery(delivery))
    return current, legacy


def rewrite(
    topics: Topics, partition: int, held: list[Delivery], legacy: list[bytes]
) -> tuple[list[Outbound], list[Outbound]]:
    """An earlier release's case entries in the compact encoding (to send first), then the
    deletions of those entries (to send once the first are confirmed)."""
    topic = topics.cases_changelog
    written = [Outbound(topic, case_record_key(d), encode_delivery(d), partition) for d in held]
    return written, [Outbound(topic, key, None, partition) for key in legacy]


async def legacy_offsets(
    settings: KafkaSettings, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Offsets another consumer group has committed on these partitions (those it has)."""
    from kafka import KafkaAdminClient

    def fetch() -> dict[TopicPartition, int]:
        admin = KafkaAdminClient(**settings.kafka_python())
        try:
            found = admin.list_group_offsets({group: None}).get(group, {})
        finally:
            admin.close()
        wanted = {(tp.topic, tp.partition): tp for tp in partitions}
        return {
            wanted[(tp.topic, tp.partition)]: meta.offset
            for tp, meta in found.items()
            if (tp.topic, tp.partition) in wanted and meta.offset >= 0
        }

    return await asyncio.to_thread(fetch)
