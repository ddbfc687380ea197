"""How often a commit is not yet visible just after `commit_transaction` returns.

Kafka answers a transaction's commit once it has logged the decision, before it
writes the commit markers. Until they are written, the group's committed offset
(read without `require_stable`, as aiokafka reads it) is the one before the
commit, and a read_committed reader of its output stops short of it. This is
why a worker settles a kept lane before it reads a partition's offset on
rebalancing (streams/worker/assignment.py). Side by side, per commit of one
record and its offset: read straight after the commit with the producer kept,
and read after the lane is settled (a new producer: what the worker does).

Starts its own broker with deploy/kafka-local/kafka.sh unless
REFMON_KAFKA_BOOTSTRAP names one.

    .venv/bin/python bench/commit_visibility.py [--commits N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kafka_pipeline import kafka  # run as a script: bench/ is on the path
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker import clients
from refmon.streams.worker.checkpoint import Batch, Checkpoint
from refmon.streams.worker.lanes import Lane, TransactionalLane
from refmon.streams.worker.messages import Outbound


async def measure(bootstrap: str, commits: int, reopen: bool) -> tuple[int, int, float]:
    """(offsets read as the one before, outputs not yet stable, seconds per commit)."""
    name = f"visibility-{uuid.uuid4().hex[:8]}"
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

    checkpoint = Checkpoint("bench", open_lane)
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=name)
    stable = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    whole = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_uncommitted")
    stale_offsets = stale_outputs = 0
    started = time.perf_counter()
    try:
        for client in (group, stable, whole):
            await client.start()
        await checkpoint.assigned({source})
        for offset in range(1, commits + 1):
            task = checkpoint.submit(source, Batch([Outbound(output.topic, b"k", b"v")]), offset)
            assert task is not None
            await task
            if reopen:
                await checkpoint.settle({source})
            stale_offsets += await group.committed(source) != offset
            ends = await stable.end_offsets([output]), await whole.end_offsets([output])
            stale_outputs += ends[0][output] != ends[1][output]
    finally:
        took = time.perf_counter() - started
        await checkpoint.close()
        for client in (group, stable, whole):
            await client.stop()
    return stale_offsets, stale_outputs, took / commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300, help="commits per side (300)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="refmon-bench-"))
    with kafka(folder) as bootstrap:
        asyncio.run(measure(bootstrap, 20, reopen=True))  # warm up: group and txn coordinators
        kept = asyncio.run(measure(bootstrap, args.commits, reopen=False))
        reopened = asyncio.run(measure(bootstrap, args.commits, reopen=True))
    print(f"{args.commits} commits of one record and its offset, read straight after each:")
    print("                               offset before it   output not stable   ms per commit")
    for label, (offsets, outputs, seconds) in (
        ("producer kept", kept),
        ("lane settled", reopened),
    ):
        print(f"  {label:<28} {offsets:>16,} {outputs:>19,} {seconds * 1000:>15.1f}")


if __name__ == "__main__":
    main()
