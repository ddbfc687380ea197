"""Checkpointing: what one input partition's work produced, with the offsets it consumed.

The one place where the worker hands records to Kafka and commits what it has
read. Each assigned input partition has a lane (lanes.py); everything the
partition's work produces (a batch's outputs and changelog writes with its
offsets; the records of a wall-clock tick, a retirement or a restore, without
offsets) is submitted to that lane, and a lane writes its submissions one after
another, in the order they were submitted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from aiokafka import TopicPartition
from refmon.streams.worker.judge import Refused
from refmon.streams.worker.lanes import Lane
from refmon.streams.worker.messages import Outbound
from refmon.streams.worker.sends import Landed

log = logging.getLogger("refmon.worker")

Delivery = Literal["exactly-once", "at-least-once"]


class Batch:
    """What one partition's records produced: outputs, state (written after), refusals."""

    def __init__(
        self,
        outputs: list[Outbound] | None = None,
        state: list[Outbound] | None = None,
        refused: list[Refused] | None = None,
    ) -> None:
        self.outputs = outputs or []
        self.state = state or []
        self.refused = refused or []


class Checkpoint:
    """One consumer loop's lanes: one per input partition assigned to it."""

    def __init__(self, name: str, open_lane: Callable[[TopicPartition], Awaitable[Lane]]) -> None:
        self._name = name
        self._open_lane = open_lane
        self.lanes: dict[TopicPartition, Lane] = {}
        self._closed = False

    async def assigned(self, tps: set[TopicPartition]) -> None:
        """The whole new assignment: lanes opened for new partitions before anything is read
        from them (opening fences their previous owner), closed for partitions gone."""
        gone = [self.lanes.pop(tp) for tp in list(self.lanes) if tp not in tps]
        await asyncio.gather(*(lane.close() for lane in gone))
        new = [tp for tp in tps if tp not in self.lanes]
        opened = await asyncio.gather(*(self._open_lane(tp) for tp in new))
        if self._closed:  # the session ended while they opened
            await asyncio.gather(*(lane.close() for lane in opened))
            return
        self.lanes.update(zip(new, opened, strict=True))

    @property
    def closed(self) -> bool:
        return self._closed

    def holds(self, tp: TopicPartition) -> bool:
        """Whether the partition has a lane open (kept, if it is assigned again)."""
        return tp in self.lanes

    async def drain(self, tps: Iterable[TopicPartition]) -> None:
        """Wait for what these partitions' lanes were given so far."""
        await asyncio.gather(*(self.lanes[tp].drain() for tp in tps if tp in self.lanes))

    async def settle(self, tps: Iterable[TopicPartition]) -> None:
        """Make what these partitions' lanes wrote complete for every reader, in place: the
        broker answers a commit before it writes the commit's markers, and until they are
        written, a read_committed reader and the group's committed offsets still show the
        state before it. What is sent meanwhile waits in the lane. Raises if a write
        before failed, or the lane could not be settled."""
        await asyncio.gather(*(self.lanes[tp].settle() for tp in tps if tp in self.lanes))

    async def revoked(self, tps: Iterable[TopicPartition]) -> None:
        """Before the group moves partitions: what was submitted lands (or fails) first. The
        lanes stay open: a partition that comes straight back keeps its producer."""
        await asyncio.gather(*(lane.drain() for tp, lane in self.lanes.items() if tp in set(tps)))

    def submit(self, tp: TopicPartition, batch: Batch, offset: int) -> asyncio.Task[None] | None:
        """A batch with its consumed offset; None if the partition has gone (its next owner
        processes the records again)."""
        lane = self.lanes.get(tp)
        return lane.submit(batch.outputs, batch.state, offset) if lane is not None else None

    async def send(
        self, tp: TopicPartition, outputs: list[Outbound], state: list[Outbound] | None = None
    ) -> None:
        """Records not tied to consumed offsets (a tick, a retirement, a restore), in the
        partition's lane; nothing if the partition is no longer ours."""
        lane = self.lanes.get(tp)
        if lane is not None and (outputs or state):
            await lane.submit(outputs, state or [], None)

    def restored(self, tp: TopicPartition, written: TopicPartition, read: Landed | None) -> None:
        """Partition `tp`'s state restored from the whole of `written`, up to `read`
        (`Lane.restored`); nothing if the partition is no longer ours."""
        lane = self.lanes.get(tp)
        if lane is not None:
            lane.restored(written, read)

    async def close(self) -> None:
        """Ending the session: let what was submitted land, briefly, then stop every lane."""
        self._closed = True
        lanes, self.lanes = list(self.lanes.values()), {}
        await asyncio.gather(*(lane.close() for lane in lanes), return_exceptions=True)
