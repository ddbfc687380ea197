"""Reading compacted topics to their end with kafka-python (for `refmon report`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from refmon.streams.kafka.settings import KafkaSettings


def read_records(settings: KafkaSettings, topic: str, timeout_s: float = 60.0) -> Iterator[Any]:
    """Every record of `topic` from the start to the end offsets seen on opening
    (kafka-python `ConsumerRecord`s), streamed: a changelog holds many versions."""
    consumer = KafkaConsumer(enable_auto_commit=False, **settings.kafka_python())
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise LookupError(f"topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
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
            for tp, found in batch.items():
                yield from found
                if consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        consumer.close()


def read_to_end(
    settings: KafkaSettings, topic: str, timeout_s: float = 60.0
) -> dict[bytes, bytes | None]:
    """The latest value of every key in `topic` (None for a deletion), read from the start."""
    return {r.key: r.value for r in read_records(settings, topic, timeout_s) if r.key is not None}


def json_table(raw: dict[bytes, bytes | None]) -> dict[str, Any]:
    """A Faust JSON table's changelog as {key: value}, deletions dropped."""
    return {json.loads(k): json.loads(v) for k, v in raw.items() if v is not None}
