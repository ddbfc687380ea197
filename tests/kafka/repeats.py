"""What a force's or an auditor's consumer sees: the findings and every alerts topic read
from the start with `read_committed`, and every message that repeats the one before it.

Exactly once (docs/kafka.md, "How it stays exact"), each finding change goes out
once, whatever was killed or restarted on the way: no message is the same key and
value as the message before it with that key in its topic (a key always lands on
one partition, so "before" is that partition's order).

Only the message just before counts, not any earlier one: a finding may legitimately
come back to a message it had. An `outlier_overdue` finding is announced from the
cross-force view while workers catch up (docs/kafka.md, "Outliers"); a late event at
or before a review point recounts it (docs/contract.md section 14: a review point is
judged on the events that occurred by then, whenever they arrive), and whether an
outlier opens there can flip with each recount. The worker then announces the
finding `resolved` when its outlier vanishes and, when it comes back, `opened`
afresh (streams/worker/force_findings.py forgets a vanished finding): byte-identical
to the first `opened`, two messages before. Such a return is counted
apart (`returns`), not as a repeat (tests/unit/test_repeats.py drives the announcer
through it). A replayed batch still shows: each finding it changed once repeats the
message just before it; a batch that changed every one of its findings twice or
more, and nothing else, is not what a fault leaves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from refmon.schemas import load_forces
from refmon.streams.kafka.topics import Topics

Message = tuple[str, bytes | None, bytes | None]
"""Topic, key and value, in the order of the key's partition."""


@dataclass(frozen=True)
class Outputs:
    messages: int
    """Every message read, in all."""
    repeats: dict[str, int]
    """Messages equal to the one before them with the same key in their topic: findings,
    alerts. Exactly once means none."""
    returns: dict[str, int]
    """Messages equal to an earlier one with their key, a different one between:
    a finding back where it was (legitimate; see the module's docstring)."""


def count(messages: Iterable[Message], findings_topic: str) -> Outputs:
    """Repeats and returns among `messages`; every other topic is an alerts topic."""
    last: dict[tuple[str, bytes | None], bytes | None] = {}
    seen: set[Message] = set()
    repeats: Counter[str] = Counter()
    returns: Counter[str] = Counter()
    total = 0
    for topic, key, value in messages:
        total += 1
        group = "findings" if topic == findings_topic else "alerts"
        if (topic, key) in last and last[(topic, key)] == value:
            repeats[group] += 1
        elif (topic, key, value) in seen:
            returns[group] += 1
        last[(topic, key)] = value
        seen.add((topic, key, value))
    return Outputs(
        total,
        {"findings": repeats["findings"], "alerts": repeats["alerts"]},
        {"findings": returns["findings"], "alerts": returns["alerts"]},
    )


def read_messages(bootstrap: str, topics: list[str]) -> list[Message]:
    """Every committed message of `topics`, each partition in its order."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    try:
        partitions = [
            TopicPartition(name, p) for name in topics for p in consumer.partitions_for_topic(name)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)  # read_committed: the last stable offsets
        read: list[Message] = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                read.extend((r.topic, r.key, r.value) for r in records)
    finally:
        consumer.close()
    return read


def read_outputs(bootstrap: str, prefix: str) -> Outputs:
    topics = Topics(prefix)
    names = [topics.findings, *(topics.alerts(f.code) for f in load_forces())]
    return count(read_messages(bootstrap, names), topics.findings)
