"""When workers do not catch up: which events are missing, and where they got to.

Used in failure messages and in the test that kills a worker mid-stream, so a
failing run says which stage lost what: never forwarded to the by-force topic,
or forwarded and committed but never in the case changelog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.state import (
    ARCHIVE_PREFIX,
    RETIRED_SUFFIX,
    decode_archive,
    decode_folded,
    decode_late,
    is_late_key,
)
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Source, decode_delivery


def _all_records(bootstrap: str, topic: str, timeout_s: float = 10) -> list[Any]:
    """Every record of `topic`, history and all, to the end offsets seen on opening."""
    consumer = KafkaConsumer(
        enable_auto_commit=False,
        isolation_level="read_committed",
        **KafkaSettings(bootstrap).kafka_python(),
    )
    found: list[Any] = []
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > consumer.position(tp)}
        idle_polls = 0
        while remaining:
            batch = consumer.poll(timeout_ms=1000, max_records=5000)
            idle_polls = 0 if batch else idle_polls + 1
            if idle_polls > timeout_s:
                raise TimeoutError(f"reading {topic} stalled")
            for tp, records in batch.items():
                found += records
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        return found
    finally:
        consumer.close()


def committed_by_force(bootstrap: str, prefix: str) -> dict[int, int]:
    """The group's committed offset per by-force partition."""
    topics = Topics(prefix)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets({topics.app_id: None}).get(topics.app_id, {})
    except KafkaError:  # no group yet: nothing committed
        committed = {}
    finally:
        admin.close()
    return {tp.partition: m.offset for tp, m in committed.items() if tp.topic == topics.by_force}


def _stored(bootstrap: str, topics: Topics) -> tuple[set[str], set[str]]:
    """Event ids and sources (`name:partition:offset`) the case changelog holds."""
    latest = {
        r.key: r.value for r in _all_records(bootstrap, topics.cases_changelog) if r.key is not None
    }
    ids, sources = set(), set()
    for key, value in latest.items():
        if value is None:
            continue
        if is_late_key(key):
            sources.update(str(s) for s in decode_late(value))
        elif key.endswith(RETIRED_SUFFIX) or key.startswith(ARCHIVE_PREFIX):
            for folded in (
                decode_archive(value) if key.startswith(ARCHIVE_PREFIX) else [decode_folded(value)]
            ):
                ids.update(event_id for _, event_id in folded.ids)
                sources.update(str(Source(*s)) for s in folded.sources)
        else:
            delivery = decode_delivery(value)
            ids.add(delivery.event.event_id)
            sources.add(str(delivery.source))
    return ids, sources


def explain_missing(bootstrap: str, prefix: str, stream: Path, limit: int = 20) -> str:
    topics = Topics(prefix)
    expected: dict[str, str] = {}
    for line in stream.read_text().splitlines():
        try:
            event = json.loads(line)
            expected.setdefault(event["event_id"], f"{event['force']}/{event['case_id']}")
        except (ValueError, KeyError, TypeError):
            continue
    stored, _ = _stored(bootstrap, topics)
    missing = sorted(set(expected) - stored)
    if not missing:
        return "no event missing from the case changelog"
    forwarded: dict[str, tuple[int, int]] = {}
    for record in _all_records(bootstrap, topics.by_force):
        event_id = decode_delivery(record.value).event.event_id
        forwarded.setdefault(event_id, (record.partition, record.offset))
    lines = [f"{len(missing)} event(s) missing from the case changelog:"]
    for event_id in missing[:limit]:
        where = forwarded.get(event_id)
        lines.append(f"  {event_id} case {expected[event_id]}: by-force {where or 'never'}")
    lines.append(f"  committed by-force offsets: {committed_by_force(bootstrap, prefix)}")
    return "\n".join(lines)


def committed_but_unsaved(bootstrap: str, prefix: str) -> list[tuple[int, int]]:
    """By-force messages below the group's committed offset that neither the case changelog
    nor the dead letters hold: what a restart would never see again."""
    topics = Topics(prefix)
    _, saved = _stored(bootstrap, topics)
    for record in _all_records(bootstrap, topics.dead_letter):
        topic, partition, offset = record.key.decode().rsplit(":", 2)
        saved.add(f"{topics.source_of(topic)}:{partition}:{offset}")
    below = committed_by_force(bootstrap, prefix)
    lost: list[tuple[int, int]] = []
    for record in _all_records(bootstrap, topics.by_force):
        source = str(decode_delivery(record.value).source)
        if record.offset < below.get(record.partition, 0) and source not in saved:
            lost.append((record.partition, record.offset))
    return sorted(lost)
