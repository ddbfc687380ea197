"""When workers do not catch up: which events are missing, and where they got to.

Used in failure messages and in the test that kills a worker mid-stream, so a
failing run says which stage lost what: never forwarded to the by-force topic,
or forwarded and committed but never in the case changelog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from refmon.streams.kafka.changelog import read_records
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.state import LATE_DUPLICATES, RETIRED_SUFFIX, decode_folded, decode_late
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import decode_delivery


def _all_records(bootstrap: str, topic: str) -> list[Any]:
    return list(read_records(KafkaSettings(bootstrap), topic, timeout_s=10))


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
        if key == LATE_DUPLICATES:
            sources.update(str(s) for s in decode_late(value))
        elif key.endswith(RETIRED_SUFFIX):
            folded = decode_folded(value)
            ids.update(event_id for _, event_id in folded.ids)
            sources.update(str(s) for s in folded.sources)
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
