"""The lag and stall watch, every statistics tick: each loop's lag per partition, and the
partitions that stopped moving (stalls.py). A stalled partition is sought to its position
and resumed; one that stays stalled after that ends the session, so that the worker starts
new consumers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import NamedTuple

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from refmon.streams.worker.loop import ConsumerLoop

log = logging.getLogger("refmon.worker")


class Watched(NamedTuple):
    lags: dict[TopicPartition, int]
    stalled: set[TopicPartition]
    restart: bool
    """A partition stayed stalled after a resume: start new consumers."""


class LagWatch:
    def __init__(self, loops: tuple[ConsumerLoop, ...]) -> None:
        self._loops = loops

    async def check(self) -> Watched:
        lags: dict[TopicPartition, int] = {}
        stalled: set[TopicPartition] = set()
        restart = False
        for loop in self._loops:
            lags.update(await watch(loop))
            stalled |= loop.stalls.stalled()
            restart = restart or loop.stalls.restart_needed
        return Watched(lags, stalled, restart)

    def restarting(self) -> None:
        """The session ends for new consumers: their stalls start afresh."""
        log.error("partitions stayed stalled after a resume; starting new consumers")
        for loop in self._loops:
            loop.stalls.restarted()


async def watch(loop: ConsumerLoop) -> dict[TopicPartition, int]:
    """A loop's lag per partition; a stalled partition is sought to its position and resumed."""
    consumer = loop.consumer
    if consumer is None or not consumer.assignment():
        return {}
    try:
        ends = dict(await consumer.end_offsets(list(consumer.assignment())))
    except KafkaError as err:
        log.warning("%s: could not read end offsets: %s", loop.name, err)
        return {}
    positions = {}
    for tp in ends:
        mine = loop.gaps.next(tp)
        if mine is not None and not loop.gapless:
            # Commit markers and aborted records take offsets the loop never sees: once
            # the consumer is past them, so is processing.
            with contextlib.suppress(TimeoutError):  # no position yet: keep our own
                mine = max(mine, int(await asyncio.wait_for(consumer.position(tp), 1)))
        if mine is not None:
            positions[tp] = mine
    lags = loop.stalls.check(ends, positions, set(loop.restoring))
    for tp in loop.stalls.to_resume():
        log.error(
            "%s[%d] has lag %d and has not moved for %.0f s; seeking to its position and resuming",
            tp.topic,
            tp.partition,
            lags.get(tp, 0),
            loop.stall_seconds,
        )
        position = loop.stalls.position(tp)
        if position is not None:
            consumer.seek(tp, position)
        consumer.resume(tp)
    return lags
