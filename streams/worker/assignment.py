"""Where newly assigned partitions start: their committed offsets, read once settled.

The broker answers a transaction's commit before it writes the commit's markers.
Until they are written, the group's committed offset (aiokafka asks without
`require_stable`, KIP-447) is the one before that commit, and a read_committed
reader of the changelog stops short of the commit's records. A partition's new
lane is safe from this: its producer starts only once the transactional id's last
transaction is complete, whoever wrote it. A lane kept from the assignment before
has waited for nothing, and its own last commit may still be completing: a
committed offset other than its own last, or a restore to come, opens it again
first, and the offset is read again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from refmon.streams.worker.checkpoint import Checkpoint

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
    committed: Committed = {tp: await consumer.committed(tp) for tp in tps}
    unsettled = {tp for tp in kept if committed[tp] != ours.get(tp) or restores(tp, committed[tp])}
    if unsettled:
        await checkpoint.reopen(unsettled)
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
