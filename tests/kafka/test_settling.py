"""What the worker's rebalancing relies on (streams/worker/assignment.py), on a real broker:
a lane settled after its own commit (a new producer) returns only once that commit is complete, so
the group's committed offset read next is the commit's, and a read_committed reader of
its output sees the commit's records. Kafka answers a commit before writing its markers:
read straight after `commit_transaction`, the offset is often the one before (on this
machine, most of the time; `bench/commit_visibility.py` counts it)."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker import clients
from refmon.streams.worker.checkpoint import Batch, Checkpoint
from refmon.streams.worker.lanes import Lane, TransactionalLane
from refmon.streams.worker.messages import Outbound

from tests.kafka.conftest import Broker

COMMITS = 40


async def settle_after_each_commit(bootstrap: str) -> list[tuple[int, int | None, int, int]]:
    """For each commit: its offset, then (after settling the lane) the committed offset
    read and the output's last stable offset and high watermark."""
    name = f"settle-{uuid.uuid4().hex[:8]}"
    source, output = TopicPartition(f"{name}.in", 0), TopicPartition(f"{name}.out", 0)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(tp.topic, 1, 1) for tp in (source, output)])
    finally:
        await admin.close()
    kafka = KafkaSettings(bootstrap)

    async def open_lane(tp: TopicPartition) -> Lane:
        def producer() -> AIOKafkaProducer:
            return clients.transactional_producer(kafka, f"{name}.tx")

        lane = TransactionalLane(tp, producer(), name, lambda _: None, renewed=producer)
        await lane.start()
        return lane

    checkpoint = Checkpoint("test", open_lane)
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=name)
    stable = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    whole = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_uncommitted")
    seen = []
    try:
        for client in (group, stable, whole):
            await client.start()
        await checkpoint.assigned({source})
        for offset in range(1, COMMITS + 1):
            record = Outbound(output.topic, b"k", b"v" * 100, 0)
            task = checkpoint.submit(source, Batch([record]), offset)
            assert task is not None
            await task
            await checkpoint.settle({source})
            seen.append(
                (
                    offset,
                    await group.committed(source),
                    (await stable.end_offsets([output]))[output],
                    (await whole.end_offsets([output]))[output],
                )
            )
    finally:
        await checkpoint.close()
        for client in (group, stable, whole):
            await client.stop()
    return seen


def test_a_settled_lane_sees_its_own_last_commit_complete(broker: Broker) -> None:
    seen = asyncio.run(settle_after_each_commit(broker.bootstrap))
    assert len(seen) == COMMITS
    for offset, committed, last_stable, high_watermark in seen:
        assert committed == offset
        assert last_stable == high_watermark
