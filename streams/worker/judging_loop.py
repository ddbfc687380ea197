"""The judging loop: the by-force partitions in, findings, alerts and changelog records out.

Each by-force partition has a judge (judge.py) of its own, restored from the
case changelog when the partition is new to this worker (recovery.py), while
that partition is paused and the rest go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import TopicPartition
from refmon.schemas.events import EventAdapter
from refmon.streams.engine import Engine
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.dead_letters import DeadLetter
from refmon.streams.wire.delivery import CodecError, Delivery, decode_delivery
from refmon.streams.worker import recovery, upgrade
from refmon.streams.worker.cancelling import cancelled_meanwhile
from refmon.streams.worker.checkpoint import Batch
from refmon.streams.worker.judge import PartitionJudge, Refused
from refmon.streams.worker.loop import ConsumerLoop, Records, Restored
from refmon.streams.worker.messages import Counts, Outbound, dead_letter
from refmon.streams.worker.reader import read_records
from refmon.streams.worker.sends import Landed
from refmon.streams.worker.snapshots import Snapshots
from refmon.streams.worker.statistics import WorkerMetrics

SETTLE_SECONDS = 0.02
"""How long, after each round of batches, a worker reads restored archive records for."""

log = logging.getLogger("refmon.worker")


class JudgingLoop(ConsumerLoop):
    name = "judge"

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: Topics,
        adapter: EventAdapter,
        counts: Counts,
        build_engine: Callable[[], Engine],
        forces: tuple[str, ...],
        partitions: int,
        stall_seconds: float,
        metrics: WorkerMetrics | None,
        transactional_input: bool = True,
        snapshots: Snapshots | None = None,
    ) -> None:
        super().__init__(kafka, stall_seconds, metrics)
        # Intake writes the by-force topic in transactions when exactly once.
        self.gapless = not transactional_input
        self._topics = topics
        self._adapter = adapter
        self._counts = counts
        self._build_engine = build_engine
        self._forces = forces
        self._partitions = partitions
        self.judges: dict[int, PartitionJudge] = {}
        self._snapshots = snapshots
        # Held from judging a batch to its state sends, and by retiring: a case is never
        # folded while a delivery of it is on its way.
        self.state_lock = asyncio.Lock()

    def forget(self) -> None:
        for partition in self.judges:
            self._forget_parts(partition)
        self.judges.clear()

    async def send(
        self, partition: int, outputs: list[Outbound], state: list[Outbound] | None = None
    ) -> None:
        """Records of a by-force partition's judge that no batch made (a tick, a retirement,
        counts), written in the partition's own lane; nothing if it is no longer ours."""
        checkpoint = self.checkpoint
        if checkpoint is not None:
            await checkpoint.send(TopicPartition(self._topics.by_force, partition), outputs, state)

    def guard(self) -> asyncio.Lock:
        return self.state_lock

    def accepts(self, tp: TopicPartition) -> bool:
        return super().accepts(tp) and tp.partition in self.judges

    async def process(self, tp: TopicPartition, records: Records) -> Batch | None:
        judge = self.judges.get(tp.partition)
        if judge is None:
            return None  # revoked while its records were being read: the next owner has them
        found = [d for d in (self._delivery(tp, r) for r in records) if d is not None]
        judged = judge.judge(found)
        return Batch(judged.outputs, judged.state, judged.refused)

    def _delivery(self, tp: TopicPartition, record: Any) -> Delivery | None:
        value = record.value or b""
        try:
            if value[:1] == b"{":  # forwarded by 0.1
                return upgrade.migrate_forward(value, self._adapter, self._topics)
            return decode_delivery(value)
        except (CodecError, ValueError, KeyError) as err:
            # Only refmon writes this topic: a record it cannot read is a bug or
            # tampering. Skipping it loses it, so say so loudly and count it.
            self._counts.rejected["internal_error"] += 1
            log.error(
                "by-force %d:%d is not a delivery this release reads (%s); skipped",
                tp.partition,
                record.offset,
                err,
            )
            return None

    async def completing(self, batch: Batch) -> None:
        if batch.refused:
            batch.outputs += await self._refused_letters(batch.refused)

    async def _refused_letters(self, refused: list[Refused]) -> list[Outbound]:
        """Dead letters for deliveries the judge refused, with their input read back whole."""
        letters = []
        for source, rejection in refused:
            topic = self._topics.input(source.name)
            raw = await read_records(self._kafka, topic, source.partition, source.offset, 1)
            body = raw[0].value if raw else None
            letter = DeadLetter.of_message(topic, source.partition, source.offset, rejection, body)
            letters.append(dead_letter(self._topics, letter))
        return letters

    def restores(self, tp: TopicPartition, committed: int | None) -> bool:
        # Kept only if still ours and nobody else has committed on it since we did.
        return tp.partition not in self.judges or committed != self.committed.get(tp)

    def assigned(
        self, tps: set[TopicPartition], committed: Mapping[TopicPartition, int | None]
    ) -> None:
        mine = {tp.partition for tp in tps}
        for partition in set(self.judges) - mine:
            del self.judges[partition]
            self._forget_parts(partition)
        for tp in tps:
            if self.restores(tp, committed[tp]):
                self.judges.pop(tp.partition, None)
                self._forget_parts(tp.partition)
                self.start_restore(tp)
        log.info(
            "assigned by-force partitions %s (%d to restore)", sorted(mine), len(self.restoring)
        )

    def _forget_parts(self, partition: int) -> None:
        if self._snapshots is not None:
            self._snapshots.forget(partition)

    def _new_judge(self, partition: int) -> PartitionJudge:
        engine = self._build_engine()
        return recovery.new_judge(
            partition, engine, self._topics, self._counts, self._forces, self._partitions
        )

    def holds(self, judge: PartitionJudge) -> bool:
        """Whether `judge` is still its partition's: a judge dropped by a rebalance must
        write nothing more to the partition's lane (its writes would count as its
        successor's, and a snapshot of the successor claim them)."""
        return self.judges.get(judge.partition) is judge

    async def take_snapshots(self) -> None:
        """Each held partition's snapshot, where one is due (snapshots.py)."""
        snapshots, checkpoint = self._snapshots, self.checkpoint
        if snapshots is None or checkpoint is None:
            return
        for partition, judge in list(self.judges.items()):
            lane = checkpoint.lanes.get(TopicPartition(self._topics.by_force, partition))
            if lane is not None and self.holds(judge):
                await snapshots.take(judge, lane, self.state_lock, self.holds)

    def between_batches(self) -> None:
        """Read restored archive records a few at a time (streams/engine/retired_store.py):
        a partition serves from their summaries, and its engine reads the cases
        themselves here, or at once when something first needs one."""
        until = time.monotonic() + SETTLE_SECONDS
        for judge in self.judges.values():
            while judge.engine.settle_some(1):
                if time.monotonic() >= until:
                    return

    async def restore(self, tp: TopicPartition) -> Restored:
        judge = self._new_judge(tp.partition)
        tail = None if self._snapshots is None else await self._snapshots.resume(judge)
        if tail is not None:
            restored = Restored(tail, "snapshot")
        else:
            judge = self._new_judge(tp.partition)  # a snapshot not used may have changed it
            restored = Restored(await self._replay(tp, judge))
        if cancelled_meanwhile():  # revoked while restoring: the judge is not ours to keep
            raise asyncio.CancelledError
        self.judges[tp.partition] = judge
        return restored

    async def _replay(self, tp: TopicPartition, judge: PartitionJudge) -> int:
        """The judge rebuilt from its whole changelog; the partition's lane then starts
        where the read ended (`Lane.restored`). Records read."""
        checkpoint = self.checkpoint
        assert checkpoint is not None
        changelog = TopicPartition(self._topics.cases_changelog, tp.partition)

        async def send(messages: Iterable[Outbound]) -> None:
            await checkpoint.send(tp, list(messages))

        def read_to(landed: Landed | None) -> None:
            if not cancelled_meanwhile():  # a restore superseded: the next one says
                checkpoint.restored(tp, changelog, landed)

        return await recovery.restore_judge(
            self._kafka, self._topics, self._adapter, judge, send, read_to
        )
