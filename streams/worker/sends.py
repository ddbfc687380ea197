"""Sending a lane's records and where they landed: what a snapshot of its partition reflects.

One job: hand every record to the producer, wait for each to be confirmed, and say, per
partition, the last record that stays in the compacted log and the last of any kind
(snapshots.py names the one and reflects the other).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import NamedTuple

from aiokafka import AIOKafkaProducer, TopicPartition
from refmon.streams.kafka.state import stays
from refmon.streams.worker.messages import Outbound


class Landed(NamedTuple):
    """Where a lane's writes to one partition stand."""

    offset: int
    """The last record landed that stays in the compacted log (`stays`: no deletion, no
    record refmon rewrites): a snapshot names it, and a restore checks it is still there."""
    key: bytes | None
    through: int
    """The last record landed, of any kind: a snapshot reflects every record up to it."""


Sent = dict[TopicPartition, tuple[tuple[int, bytes | None] | None, int]]
"""Per partition, the last record sent that stays (offset, key), if any, and the last one."""


async def send_all(producer: AIOKafkaProducer, messages: Iterable[Outbound]) -> Sent:
    """Every record handed to the producer, then every one confirmed; where they went."""
    sent = [
        (m, await producer.send(m.topic, m.value, key=m.key, partition=m.partition))
        for m in messages
    ]
    landed = await asyncio.gather(*(future for _, future in sent)) if sent else []
    where: Sent = {}
    for (m, _), meta in zip(sent, landed, strict=True):
        tp = TopicPartition(meta.topic, meta.partition)
        stay, through = where.get(tp, (None, -1))
        if stays(m.key, m.value) and (stay is None or meta.offset > stay[0]):
            stay = (meta.offset, m.key)
        where[tp] = (stay, max(through, meta.offset))
    return where
