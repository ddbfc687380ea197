"""Reading one partition with a plain, group-less aiokafka consumer (assign and seek)."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from refmon.streams.kafka.settings import KafkaSettings

STALL_SECONDS = 60.0


async def _open(settings: KafkaSettings, tp: TopicPartition) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_wait_ms=50,
        **settings.aiokafka(),
    )
    await consumer.start()
    consumer.assign([tp])
    return consumer


async def read_latest(
    settings: KafkaSettings, topic: str, partition: int
) -> dict[bytes, bytes | None]:
    """The latest value of every key in one partition (None: deleted), from the start to the end
    offset seen on opening."""
    tp = TopicPartition(topic, partition)
    consumer = await _open(settings, tp)
    latest: dict[bytes, bytes | None] = {}
    try:
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        moved = time.monotonic()
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=20_000)
            records = batch.get(tp, [])
            if records:
                moved = time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS:
                raise TimeoutError(f"reading {topic}[{partition}] stalled")
            for record in records:
                if record.offset < end and record.key is not None:
                    latest[record.key] = record.value
        return latest
    finally:
        await consumer.stop()


async def read_records(
    settings: KafkaSettings, topic: str, partition: int, first: int, count: int
) -> list[ConsumerRecord[Any, Any]]:
    """Up to `count` records from offset `first` (fewer where retention or compaction
    removed some)."""
    tp = TopicPartition(topic, partition)
    consumer = await _open(settings, tp)
    found: list[ConsumerRecord[Any, Any]] = []
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        start = (await consumer.beginning_offsets([tp]))[tp]
        consumer.seek(tp, max(first, start))
        last = min(first + count, end)
        moved = time.monotonic()
        while await consumer.position(tp) < last:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=count)
            records = batch.get(tp, [])
            if records:
                moved = time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS:
                raise TimeoutError(f"reading {topic}[{partition}] stalled")
            found.extend(r for r in records if first <= r.offset < last)
        return found
    finally:
        await consumer.stop()


async def legacy_offsets(
    settings: KafkaSettings, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """Offsets another consumer group has committed on these partitions (those it has)."""
    import asyncio

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
