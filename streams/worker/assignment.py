"""A consumer loop's rebalance listener: where newly assigned partitions start.

Their committed offsets are read once settled.

The broker answers a transaction's commit before it writes the commit's markers.
Until they are written, the group's committed offset (aiokafka asks without
`require_stable`, KIP-447) is the one before that commit, and a read_committed
reader of the changelog stops short of the commit's records. A partition's new
lane is safe from this: its producer starts only once the transactional id's last
transaction is complete, whoever wrote it. A lane kept from the assignment before
has waited for nothing, and its own last commit may still be completing: a
committed offset other than its own last, or a restore to come, settles it
first (a new producer, in the lane's own order), and the offset is read again.
The broker this relies on applies a transaction's offsets before it counts the
commit markers written (Kafka 3.9, which refmon runs; older brokers did it later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from refmon.streams.worker.checkpoint import Checkpoint
from refmon.streams.worker.loop import ConsumerLoop

log = logging.getLogger("refmon.worker")

Committed = dict[TopicPartition, int | None]


async def settled_offsets(
    consumer: AIOKafkaConsumer,
    checkpoint: Checkpoint,
    tps: set[TopicPartition],
    ours: Mapping[TopicPartition, int],
    restores: Callable[[TopicPartition, int | None], bool],
) -> Committed | None:
    """Open the new lanes (fencing each partition's previous owner), settle the kept ones
    that need it, and return each partition's committed offset (None: never committed),
    the consumer sought to it; None if the session ended meanwhile.
    `ours`: the loop's own last commit per partition; `restores`: whether a partition's
    state will be restored from that offset."""
    kept = {tp for tp in tps if checkpoint.holds(tp)}
    await checkpoint.assigned(tps)
    if checkpoint.closed:
        return None
    # A batch submitted before the rebalance lands first: `ours` is final from here (the
    # caller holds the loop's guard, so nothing more is submitted meanwhile).
    await checkpoint.drain(kept)
    committed: Committed = {tp: await consumer.committed(tp) for tp in tps}
    unsettled = {tp for tp in kept if committed[tp] != ours.get(tp) or restores(tp, committed[tp])}
    if unsettled:
        await checkpoint.settle(unsettled)
        if checkpoint.closed:
            return None
        first = {tp: committed[tp] for tp in unsettled}
        committed.update({tp: await consumer.committed(tp) for tp in unsettled})
        for tp in sorted(unsettled):
            if committed[tp] != first[tp]:  # the race this guards against, caught
                log.info(
                    "%s[%d]: committed offset read as %s, then %s once its lane settled",
                    tp.topic,
                    tp.partition,
                    first[tp],
                    committed[tp],
                )
    for tp, offset in committed.items():
        if offset is not None:  # from here, not from an offset the consumer reads later
            consumer.seek(tp, offset)
    return committed


class Rebalancing(ConsumerRebalanceListener):  # type: ignore[misc]
    """The rebalance listener of a loop's consumer."""

    def __init__(self, loop: ConsumerLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        loop = self.loop
        if loop.checkpoint is not None:
            await loop.checkpoint.revoked(revoked)
        for tp in revoked:
            task = loop.restoring.pop(tp, None)
            if task is not None:
                task.cancel()
            loop.stalls.forget(tp)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        loop = self.loop
        try:
            # No batch between processing and submission meanwhile (settled_offsets).
            async with loop.guard():
                await self._assign(set(assigned))
        except Exception as err:
            # aiokafka would log this and carry on, its partitions paused: end the session.
            log.error("%s: assigning partitions failed (%r); starting again", loop.name, err)
            loop.failure = err

    async def _assign(self, tps: set[TopicPartition]) -> None:
        loop = self.loop
        consumer, checkpoint = loop.consumer, loop.checkpoint
        assert consumer is not None
        assert checkpoint is not None
        # Nothing is processed while this works out where each partition starts: the
        # other loop goes on between the awaits below, and would race the bookkeeping.
        if tps:
            consumer.pause(*tps)
        committed = await settled_offsets(consumer, checkpoint, tps, loop.committed, loop.restores)
        if committed is None or loop.consumer is None:
            return  # the session ended meanwhile
        await loop.assigning(committed)
        # Where each partition's records must start: the committed offset, or the
        # log's start for a partition this group has never committed on.
        starts = await consumer.beginning_offsets(list(tps)) if tps else {}
        for tp in tps:
            loop.gaps.reset(tp, committed[tp] if committed[tp] is not None else starts.get(tp))
        loop.assigned(tps, committed)
        ready = [tp for tp in tps if tp not in loop.restoring]
        if ready:
            consumer.resume(*ready)
