"""When workers do not catch up: which events are missing, and where they got to.

Used in failure messages only, so a flaky run says which stage lost what:
never forwarded to the by-force topic, forwarded but never in the case
changelog, or in the changelog once and overwritten later.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from refmon.streams.kafka.changelog import read_records
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics


def _all_records(bootstrap: str, topic: str) -> list[Any]:
    return list(read_records(KafkaSettings(bootstrap), topic, timeout_s=10))


def committed_by_force(bootstrap: str, prefix: str) -> dict[int, int]:
    """The group's committed offset per by-force partition."""
    topics = Topics(prefix)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets({topics.app_id: None}).get(topics.app_id, {})
    finally:
        admin.close()
    return {tp.partition: m.offset for tp, m in committed.items() if tp.topic == topics.by_force}


def explain_missing(bootstrap: str, prefix: str, stream: Path, limit: int = 20) -> str:
    topics = Topics(prefix)
    expected: dict[str, str] = {}
    for line in stream.read_text().splitlines():
        try:
            event = json.loads(line)
            expected.setdefault(event["event_id"], f"{event['force']}/{event['case_id']}")
        except (ValueError, KeyError, TypeError):
            continue
    changelog = _all_records(bootstrap, topics.cases_changelog)
    latest: dict[str, dict[str, Any]] = {}
    ever: dict[str, list[tuple[int, int]]] = {}
    for record in changelog:
        if record.key is None or record.value is None:
            continue
        key = json.loads(record.key)
        entry = json.loads(record.value)
        latest[key] = entry
        for event_id in entry["events"]:
            ever.setdefault(event_id, []).append((record.partition, record.offset))
    stored = {e for entry in latest.values() for e in entry["events"]}
    missing = sorted(set(expected) - stored)
    if not missing:
        return "no event missing from the case changelog"
    forwarded: dict[str, tuple[int, int]] = {}
    for record in _all_records(bootstrap, topics.by_force):
        body = json.loads(record.value)
        event_id = json.loads(body["event"]).get("event_id")
        if event_id in expected:
            forwarded.setdefault(event_id, (record.partition, record.offset))
    by_force = committed_by_force(bootstrap, prefix)
    lines = [f"{len(missing)} event(s) missing from the case changelog:"]
    for event_id in missing[:limit]:
        case = expected[event_id]
        where = forwarded.get(event_id)
        lines.append(
            f"  {event_id} case {case}: by-force {where or 'never'}; "
            f"in changelog versions {ever.get(event_id, [])[:5]}; "
            f"latest entry has {len(latest.get(case, {}).get('events', {}))} event(s)"
        )
    lines.append(f"  committed by-force offsets: {by_force}")
    return "\n".join(lines)


def committed_but_unsaved(bootstrap: str, prefix: str) -> list[tuple[int, int]]:
    """By-force messages below the group's committed offset whose event no case
    changelog record holds: what a restart would never see again."""
    topics = Topics(prefix)
    saved = {
        event_id
        for record in _all_records(bootstrap, topics.cases_changelog)
        if record.value is not None
        for event_id in json.loads(record.value)["events"]
    }
    below = committed_by_force(bootstrap, prefix)
    lost: list[tuple[int, int]] = []
    for record in _all_records(bootstrap, topics.by_force):
        if record.offset < below.get(record.partition, 0):
            event_id = json.loads(json.loads(record.value)["event"])["event_id"]
            if event_id not in saved:
                lost.append((record.partition, record.offset))
    return sorted(lost)
