"""The one reader of Kafka's stored state: a plain, group-less aiokafka consumer (assign, seek).

A worker restores a partition from its changelog with `read_latest`, fetches
skipped or refused inputs with `read_records`; `refmon report` reads whole
compacted topics with `read_topic`, through the same code. It reads
`read_committed`: what an aborted transaction wrote is never state, and the end
it reads to is the last stable offset.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.state import stays
from refmon.streams.worker.sends import Landed

STALL_SECONDS = 60.0
NAMEABLE = 1024
"""How many of the last staying records a full read keeps, to name one still live."""
TO_THE_END = 2**62
"""A count of records no partition reaches: `read_records` then reads to the end offset."""


async def _open(settings: KafkaSettings, *tps: TopicPartition) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        # The worker writes its topics in transactions: an aborted write is no state.
        isolation_level="read_committed",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_wait_ms=50,
        **settings.aiokafka(),
    )
    await consumer.start()
    consumer.assign(list(tps))
    return consumer


async def read_latest(
    settings: KafkaSettings, topic: str, partition: int
) -> dict[bytes, bytes | None]:
    """The latest value of every key in one partition (None: deleted), from the start to the end
    offset seen on opening."""
    latest, _ = await read_latest_landed(settings, topic, partition)
    return latest


async def read_latest_landed(
    settings: KafkaSettings, topic: str, partition: int
) -> tuple[dict[bytes, bytes | None], Landed | None]:
    """`read_latest`, and where what it read stands as a lane's writes would (sends.py):
    the last record that stays in the compacted log and is still its key's latest (a
    delivery the same read deleted would soon be compacted away), and the last of any kind.
    None when no such record is among the last `NAMEABLE` that stayed."""
    tp = TopicPartition(topic, partition)
    consumer = await _open(settings, tp)
    latest: dict[bytes, bytes | None] = {}
    staying: deque[tuple[int, bytes]] = deque(maxlen=NAMEABLE)
    through = -1
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
                    through = record.offset
                    if stays(record.key, record.value):
                        staying.append((record.offset, record.key))
        # The newest first: a key whose latest value stays has that value's record here
        # unless older than every one kept.
        named = next(((o, k) for o, k in reversed(staying) if stays(k, latest[k])), None)
        return latest, None if named is None else Landed(*named, through)
    finally:
        await consumer.stop()


Keyed = tuple[int, bytes, bytes | None]
"""(offset, key, value; None: deleted)."""


async def read_at_and_after(
    settings: KafkaSettings, topic: str, partition: int, at: int, after: int
) -> tuple[Keyed | None, list[Keyed]]:
    """The keyed record at offset `at` (None where there is none: compacted away, or another
    log), and every keyed record from offset `after` to the end offset seen on opening."""
    tp = TopicPartition(topic, partition)
    consumer = await _open(settings, tp)
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        start = (await consumer.beginning_offsets([tp]))[tp]
        found = _keyed(await _read(consumer, tp, max(at, start), min(at + 1, end), 1))
        tail = _keyed(await _read(consumer, tp, max(after, start), end, TO_THE_END))
    finally:
        await consumer.stop()
    record = found[0] if found and found[0][0] == at else None
    return record, tail


def _keyed(records: list[ConsumerRecord[Any, Any]]) -> list[Keyed]:
    return [(r.offset, r.key, r.value) for r in records if r.key is not None]


async def read_records(
    settings: KafkaSettings, topic: str, partition: int, first: int, count: int
) -> list[ConsumerRecord[Any, Any]]:
    """Up to `count` records from offset `first` (fewer where retention or compaction
    removed some)."""
    tp = TopicPartition(topic, partition)
    consumer = await _open(settings, tp)
    try:
        end = (await consumer.end_offsets([tp]))[tp]
        start = (await consumer.beginning_offsets([tp]))[tp]
        last = min(first + count, end)
        return await _read(consumer, tp, max(first, start), last, count)
    finally:
        await consumer.stop()


async def _read(
    consumer: AIOKafkaConsumer, tp: TopicPartition, first: int, last: int, count: int
) -> list[ConsumerRecord[Any, Any]]:
    """The records from offset `first` to before `last` (up to `count` a fetch)."""
    found: list[ConsumerRecord[Any, Any]] = []
    if first >= last:
        return found
    consumer.seek(tp, first)
    moved = time.monotonic()
    while await consumer.position(tp) < last:
        batch = await consumer.getmany(tp, timeout_ms=500, max_records=count)
        records = batch.get(tp, [])
        if records:
            moved = time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            raise TimeoutError(f"reading {tp.topic}[{tp.partition}] stalled")
        found.extend(r for r in records if first <= r.offset < last)
    return found


async def read_committed_where(
    settings: KafkaSettings, topic: str, partitions: int, keep: Callable[[bytes], bool]
) -> dict[bytes, bytes]:
    """The latest committed value of every key of `topic` (every partition) whose value
    `keep` accepts, from the start to the end offsets seen on opening (read_committed:
    a transaction's outputs count once it commits)."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer = await _open(settings, *tps)
    latest: dict[bytes, bytes] = {}
    try:
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        moved = time.monotonic()
        pending = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=20_000)
            if any(batch.values()):
                moved = time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS:
                raise TimeoutError(f"reading {topic} stalled")
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp] or record.key is None:
                        continue
                    if record.value is not None and keep(record.value):
                        latest[record.key] = record.value
                    else:  # a tombstone, or a later value of another sort
                        latest.pop(record.key, None)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return latest
    finally:
        await consumer.stop()


async def _read_topic(settings: KafkaSettings, topic: str) -> dict[bytes, bytes | None]:
    # Subscribed (without a group) only so that starting fetches the topic's metadata.
    consumer = AIOKafkaConsumer(
        topic, enable_auto_commit=False, isolation_level="read_committed", **settings.aiokafka()
    )
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(topic)
    except KafkaError:
        partitions = None
    finally:
        await consumer.stop()
    if not partitions:
        raise LookupError(f"topic {topic} does not exist")
    latest: dict[bytes, bytes | None] = {}
    for partition in sorted(partitions):
        latest.update(await read_latest(settings, topic, partition))
    return latest


def read_topic(settings: KafkaSettings, topic: str) -> dict[bytes, bytes | None]:
    """The latest value of every key in every partition of `topic` (None: deleted), from the
    start to the end offsets seen on opening. For callers without an event loop."""
    return asyncio.run(_read_topic(settings, topic))
