"""Checkpointing: a batch's outputs, then its state, confirmed by the broker, then its offsets.

The one place where the worker hands records to Kafka and commits what it has
read: the seam where Kafka transactions go next (outputs, changelog writes and
input offsets in one transaction). Until then the order is what makes a crash
harmless: outputs before state, so a crash repeats an alert and never loses
one; both confirmed (acks=all, idempotent producer) before the commit, so a
crash repeats work and never skips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError
from refmon.streams.worker.judge import Refused
from refmon.streams.worker.messages import Outbound

log = logging.getLogger("refmon.worker")


class Batch:
    """What a batch of records produced: outputs first, then state, then the commit."""

    def __init__(
        self,
        outputs: list[Outbound] | None = None,
        state: list[Outbound] | None = None,
        refused: list[Refused] | None = None,
    ) -> None:
        self.outputs = outputs or []
        self.state = state or []
        self.refused = refused or []
        self.offsets: dict[TopicPartition, int] = {}

    def add(self, other: Batch, tp: TopicPartition, offset: int) -> None:
        self.outputs += other.outputs
        self.state += other.state
        self.refused += other.refused
        self.offsets[tp] = offset


class Sender:
    """Records to the broker, each send confirmed before `send` returns."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def send(self, messages: Iterable[Outbound]) -> None:
        futures = [
            await self._producer.send(m.topic, m.value, key=m.key, partition=m.partition)
            for m in messages
        ]
        if futures:
            await asyncio.gather(*futures)


class Checkpoint:
    """One consumer loop's checkpoints: `write` a batch's records, then `commit` its offsets.

    A commit overlaps the work on the next batch: commits still go out in order
    (each waits for the one before), and only after their batch's sends.
    """

    def __init__(
        self,
        name: str,
        sender: Sender,
        consumer: AIOKafkaConsumer,
        committed: Callable[[Mapping[TopicPartition, int]], None],
    ) -> None:
        self._name = name
        self._sender = sender
        self._consumer = consumer
        self._committed = committed
        self._committing: asyncio.Task[None] | None = None

    async def send(self, messages: Iterable[Outbound]) -> None:
        """Records outside a batch (a restored partition's open findings), confirmed."""
        await self._sender.send(messages)

    async def write(self, batch: Batch) -> None:
        await self._sender.send(batch.outputs)
        await self._sender.send(batch.state)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self._committing is not None:
            await self._committing
        self._committing = asyncio.create_task(self._commit(offsets))

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            # The group moved on: the new owner processes these again, harmlessly.
            log.warning(
                "%s: commit refused after a rebalance; the new owner repeats it", self._name
            )
            return
        self._committed(offsets)

    async def close(self) -> None:
        """Stopping: let the last commit (of work already confirmed) land, briefly."""
        committing = self._committing
        if committing is not None and not committing.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(committing), timeout=2)
