"""A lane: one input partition's writes, one after another, in submission order.

Exactly once (the default): a lane is a transactional producer of its own,
with a transactional id named after its input partition, so that whoever is
assigned the partition next fences it when it starts (docs/decisions.md,
"Exactly once"). A submission is one transaction: its records and its offsets
(`send_offsets_to_transaction` with the loop's group), committed together or
not at all; readers see only what committed (`read_committed`).

At least once (`--delivery at-least-once`, kept to measure what transactions
cost): one shared idempotent producer; outputs, then state, confirmed, then the
offsets committed by the consumer. A crash repeats outputs and never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError
from refmon.streams.worker.messages import Outbound
from refmon.streams.worker.sends import Landed, Sent, send_all

log = logging.getLogger("refmon.worker")

Offsets = Mapping[TopicPartition, int]


class Lane:
    """One input partition's writes, in submission order: each waits for the one before."""

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self._last: asyncio.Task[None] | None = None
        self.written: dict[TopicPartition, Landed] = {}
        """What this lane has landed (committed, in transactions), per partition written to
        since it landed a record that stays: what a snapshot reflects (snapshot.py)."""

    fenced = True
    """Whether a lane that replaced this one's owner fences it: then a snapshot reflects
    every record up to the last this lane landed (`Landed.through`); if not, a former owner
    still writing could have put records among them, and only the named one is vouched for."""

    def landed(self, sent: Sent) -> None:
        for tp, (stay, through) in sent.items():
            before = self.written.get(tp)
            if stay is not None:
                offset, key = stay
            elif before is not None:
                offset, key = before.offset, before.key
            else:
                continue  # nothing a snapshot could name yet
            self.written[tp] = Landed(offset, key, through if self.fenced else offset)

    def restored(self, tp: TopicPartition, read: Landed | None) -> None:
        """A state restored from the whole of partition `tp`, read up to `read`: what this
        lane lands next follows it, and a snapshot of the state reflects it, as if this lane
        had landed what was read (a quiet partition would otherwise take no snapshot, and
        one that only retired cases would name none)."""
        if read is None:  # nothing read could be named: no mark, rather than an old one
            self.written.pop(tp, None)
            return
        through = read.through if self.fenced else read.offset
        self.written[tp] = Landed(read.offset, read.key, through)

    def idle(self) -> bool:
        """Whether everything submitted has landed, and nothing failed."""
        last = self._last
        return last is None or (last.done() and not last.cancelled() and not last.exception())

    def submit(
        self, outputs: list[Outbound], state: list[Outbound], offset: int | None
    ) -> asyncio.Task[None]:
        """Queue a write (offset: the next to consume, committed with it; None: records only).
        The order is fixed here, synchronously: a caller holding a lock keeps it."""
        return self._queue(lambda: self.write(outputs, state, offset))

    def settle(self) -> asyncio.Task[None]:
        """Queue `renew` behind what was submitted: done once everything before it has landed
        and is complete (see `renew`); what is submitted after waits for it."""
        return self._queue(self.renew)

    def _queue(self, step: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._after(self._last, step))
        self._last = task
        return task

    async def _after(
        self, previous: asyncio.Task[None] | None, step: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            await previous  # a failure before ends this one too: nothing is written out of order
        await step()

    async def renew(self) -> None:
        """Make what this lane wrote complete for every reader (nothing to do by default)."""

    async def write(
        self, outputs: list[Outbound], state: list[Outbound], offset: int | None
    ) -> None:
        raise NotImplementedError

    async def drain(self) -> None:
        """Wait for everything submitted so far (its failure is the submitter's to see; the
        caller's own cancellation is not swallowed)."""
        if self._last is not None:
            await asyncio.wait([self._last])

    async def close(self) -> None:
        """Let what was submitted land, briefly; then give up on it (the session is ending,
        and the next one starts from the committed offsets)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout=5)
        if self._last is not None:
            self._last.cancel()


class TransactionalLane(Lane):
    """A producer of the partition's own: each write is one transaction."""

    def __init__(
        self,
        tp: TopicPartition,
        producer: AIOKafkaProducer,
        group: str,
        committed: Callable[[Offsets], None],
        renewed: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        super().__init__(tp)
        self._producer = producer
        self._group = group
        self._committed = committed
        self._renewed = renewed

    async def start(self) -> None:
        # Starting registers the transactional id: the broker aborts the previous
        # owner's open transaction and fences that owner from writing again.
        await self._producer.start()

    async def renew(self) -> None:
        # The broker answers a commit before it writes the commit's markers. A new producer
        # with the same transactional id starts only once the id's last transaction is
        # complete, markers and all: then the group's offsets and the changelog show it.
        if self._renewed is None:
            raise RuntimeError("this lane cannot renew its producer")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._producer.stop(), timeout=5)
        self._producer = self._renewed()
        await self._producer.start()

    async def write(
        self, outputs: list[Outbound], state: list[Outbound], offset: int | None
    ) -> None:
        producer = self._producer
        await producer.begin_transaction()
        try:
            written = await send_all(producer, [*outputs, *state])
            if offset is not None:
                await producer.send_offsets_to_transaction({self.tp: offset}, self._group)
            await producer.commit_transaction()
        except BaseException:
            # Abort if the producer still can (a fenced one cannot); the caller ends
            # the session, which drops this partition's state and restores it.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.abort_transaction(), timeout=5)
            raise
        self.landed(written)
        if offset is not None:
            self._committed({self.tp: offset})

    async def close(self) -> None:
        await super().close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._producer.stop(), timeout=5)


class ConfirmedLane(Lane):
    """At least once: outputs, then state, confirmed, then the consumer commits the offset."""

    fenced = False

    def __init__(
        self,
        tp: TopicPartition,
        name: str,
        producer: AIOKafkaProducer,
        consumer: AIOKafkaConsumer,
        committed: Callable[[Offsets], None],
    ) -> None:
        super().__init__(tp)
        self._name = name
        self._producer = producer
        self._consumer = consumer
        self._committed = committed

    async def write(
        self, outputs: list[Outbound], state: list[Outbound], offset: int | None
    ) -> None:
        # Outputs before state: a crash between them repeats an alert, never loses one.
        await send_all(self._producer, outputs)
        self.landed(await send_all(self._producer, state))
        if offset is None:
            return
        try:
            await self._consumer.commit({self.tp: offset})
        except CommitFailedError:
            # The group moved on: the new owner processes these again, harmlessly.
            log.warning(
                "%s: commit refused after a rebalance; the new owner repeats it",
                self._name,
            )
            return
        self._committed({self.tp: offset})
