"""Recovery: a by-force partition's judge rebuilt from the case changelog.

One reader (reader.py) and one replay path (`replay` in streams/kafka/state.py)
serve a worker restoring a partition and `refmon report` reading every
partition alike; the 0.1 upgrade (upgrade.py) is applied to what is read
before either looks at it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from refmon.schemas.events import EventAdapter
from refmon.streams.engine import Engine
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.state import Held, held
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker import reader, upgrade
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.messages import Counts, Outbound
from refmon.streams.worker.sends import Landed

log = logging.getLogger("refmon.worker")

Send = Callable[[Iterable[Outbound]], Awaitable[None]]


async def restore_judge(
    kafka: KafkaSettings,
    topics: Topics,
    adapter: EventAdapter,
    judge: PartitionJudge,
    send: Send,
    read_to: Callable[[Landed | None], None],
) -> int:
    """Restore a new judge from its partition's changelog, yielding to the event loop as it
    goes. Records restored. `read_to` learns where what was read stands, before anything
    is sent (a snapshot of the judge reflects it).

    Its open findings are not sent again: every finding went out in the transaction
    that wrote the state it follows from (checkpoint.py), so a reader would see them
    twice; at least once, outputs are confirmed before their state is written."""
    partition = judge.partition
    records, landed = await reader.read_latest_landed(kafka, topics.cases_changelog, partition)
    read_to(landed)
    current, legacy = upgrade.upgraded(records, adapter, topics)
    stored = held(current)
    for _ in judge.restore(stored):
        await asyncio.sleep(0)
    archived, singles = judge.archive_singles()
    if singles:  # an earlier release's one record per retired case: into the archive
        await send(archived)
        await send(singles)
        log.info("archived %d retired-case records of partition %d", len(singles), partition)
    if legacy:
        written, deletions = upgrade.rewrite(topics, partition, stored.deliveries, legacy)
        await send(written)
        await send(deletions)
        log.info("migrated %d case entries of partition %d", len(legacy), partition)
    return len(stored.deliveries) + stored.retired_count()


def new_judge(
    partition: int,
    engine: Engine,
    topics: Topics,
    counts: Counts,
    forces: Iterable[str],
    partitions: int,
) -> PartitionJudge:
    return PartitionJudge(
        partition, engine, topics, counts, sources_of(partition, forces, partitions)
    )


def sources_of(partition: int, forces: Iterable[str], partitions: int) -> frozenset[str]:
    """The input sources whose events reach a by-force partition: the forces the producer's
    partitioner (Kafka's murmur2 of the force, the key intake forwards by) puts there, and
    the watchdog, whose events go to every force's partition."""
    from aiokafka.partitioner import DefaultPartitioner

    choose = DefaultPartitioner()
    every = list(range(partitions))
    mine = {f for f in forces if choose(f.encode(), every, every) == partition}
    return frozenset({*mine, "watchdog"})


def stored_state(kafka: KafkaSettings, topics: Topics, adapter: EventAdapter) -> Held:
    """What every partition's changelog holds, for `refmon report` (no event loop)."""
    records = reader.read_topic(kafka, topics.cases_changelog)
    current, _ = upgrade.upgraded(records, adapter, topics)
    return held(current)
