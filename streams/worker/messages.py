"""What the worker sends, and what it counts: records for the producer, named by their job.

Client-free: the stages (intake.py, judge.py) return these, and only the
checkpoint (checkpoint.py) hands them to Kafka.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from refmon.streams.engine import Finding, FindingChange
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.dead_letters import DeadLetter, dumps_dead_letter
from refmon.streams.wire.delivery import Delivery
from refmon.streams.wire.encode import finding_json


class Outbound(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    """None: the producer's partitioner chooses by key."""


@dataclass(slots=True)
class Counts:
    """What this worker has done, for its metrics (the engines count duplicates)."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)


def dead_letter(topics: Topics, letter: DeadLetter) -> Outbound:
    """A dead letter as the dead-letter topic's record, keyed by where its input is."""
    return Outbound(topics.dead_letter, letter.key.encode(), dumps_dead_letter(letter).encode())


def case_record_key(delivery: Delivery) -> bytes:
    """One changelog record per delivery: appending an event costs one small write."""
    event = delivery.event
    return record_key(event.force, event.case_id, *delivery.source)


def record_key(force: str, case_id: str, name: str, partition: int, offset: int) -> bytes:
    """`case_record_key` from the parts a judge keeps of a delivery."""
    return f"{force}/{case_id}@{name}:{partition}:{offset}".encode()


def finding_messages(topics: Topics, changes: Iterable[FindingChange]) -> list[Outbound]:
    """To the findings topic (compacted: the latest state of each) and the force's alerts."""
    sends: list[Outbound] = []
    for change in changes:
        finding = change.finding
        value = finding_value(finding, change.change)
        key = finding.finding_id.encode()
        sends.append(Outbound(topics.findings, key, value))
        sends.append(Outbound(topics.alerts(finding.force), key, value))
    return sends


def finding_value(finding: Finding, change: str) -> bytes:
    body = finding_json(finding)
    body["change"] = change
    return json.dumps(body, separators=(",", ":")).encode()
