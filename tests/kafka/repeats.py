"""What a force's or an auditor's consumer sees: the findings and every alerts topic read
from the start with `read_committed`, and every message that repeats an earlier one.

Exactly once (docs/kafka.md, "How it stays exact"), no message there is the same
key and value as one before it in its topic: each finding change goes out once,
whatever was killed or restarted on the way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from refmon.schemas import load_forces
from refmon.streams.kafka.topics import Topics


@dataclass(frozen=True)
class Outputs:
    messages: int
    """Every message read, in all."""
    repeats: dict[str, int]
    """Messages equal to an earlier one in their topic (same key, same value): findings,
    alerts."""


def read_outputs(bootstrap: str, prefix: str) -> Outputs:
    topics = Topics(prefix)
    names = [topics.findings, *(topics.alerts(f.code) for f in load_forces())]
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    try:
        partitions = [
            TopicPartition(name, p) for name in names for p in consumer.partitions_for_topic(name)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)  # read_committed: the last stable offsets
        seen: Counter[tuple[str, bytes | None, bytes | None]] = Counter()
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                seen.update((r.topic, r.key, r.value) for r in records)
    finally:
        consumer.close()
    repeats: Counter[str] = Counter()
    for (topic, _, _), count in seen.items():
        if count > 1:
            repeats["findings" if topic == topics.findings else "alerts"] += count - 1
    counted = {"findings": repeats["findings"], "alerts": repeats["alerts"]}
    return Outputs(sum(seen.values()), counted)
