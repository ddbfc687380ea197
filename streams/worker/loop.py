"""A consumer loop: fetch, put in offset order, process, checkpoint; follow rebalances.

The worker runs two, one per consumer group (intake_loop.py, judging_loop.py),
each a subclass saying only what is its own: how a partition's records are
processed, and what an assignment must restore. Nothing here branches on
which loop is running.

Every record a consumer hands over is processed in offset order: records the
consumer skipped are fetched again and processed first (gaps.py), and a
partition that is restoring is paused, its fetched records sought back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker.cancelling import end_if_cancelled
from refmon.streams.worker.checkpoint import Batch, Checkpoint
from refmon.streams.worker.gaps import GapTracker
from refmon.streams.worker.reader import read_records
from refmon.streams.worker.stalls import StallWatch
from refmon.streams.worker.statistics import WorkerMetrics

log = logging.getLogger("refmon.worker")

MAX_BATCH = 5_000
FETCH_TIMEOUT_MS = 100
Records = list[ConsumerRecord[Any, Any]]


@dataclass(frozen=True)
class Restored:
    """A partition's state rebuilt: how many records that read, and from what."""

    records: int
    source: Literal["snapshot", "changelog"] = "changelog"


class ConsumerLoop:
    """One consumer group's loop (its consumer's rebalance listener: assignment.py)."""

    name = "loop"
    gapless = True
    """Whether its input's offsets have no gaps (in transactions: commit markers, aborts)."""

    def __init__(
        self, kafka: KafkaSettings, stall_seconds: float, metrics: WorkerMetrics | None
    ) -> None:
        self._kafka = kafka
        self._metrics = metrics
        self.stall_seconds = stall_seconds
        self.consumer: AIOKafkaConsumer | None = None
        self.checkpoint: Checkpoint | None = None
        self.gaps: GapTracker[TopicPartition] = GapTracker()
        self.stalls: StallWatch[TopicPartition] = StallWatch(stall_seconds)
        self.restoring: dict[TopicPartition, asyncio.Task[None]] = {}
        # Our own last commit per partition: state is kept across a rebalance only if
        # nobody else has committed on its partition in between.
        self.committed: dict[TopicPartition, int] = {}
        self.failure: Exception | None = None
        """What ended an assignment, for the loop to raise (and so end the session)."""

    # -- what each loop says for itself ------------------------------------------

    async def process(self, tp: TopicPartition, records: Records) -> Batch | None:
        """What one partition's records produce; None: nothing to commit for them."""
        raise NotImplementedError

    def guard(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Held from processing a batch to its submission (which fixes its order of writing)."""
        return contextlib.nullcontext()

    async def completing(self, batch: Batch) -> None:
        """Last additions to a partition's processed batch, before it is submitted."""

    async def assigning(self, committed: dict[TopicPartition, int | None]) -> None:
        """Before the start of each newly assigned partition is worked out."""

    def restores(self, tp: TopicPartition, committed: int | None) -> bool:
        """Whether a newly assigned partition's state must be restored (in `assigned`)."""
        return False

    def assigned(
        self, tps: set[TopicPartition], committed: Mapping[TopicPartition, int | None]
    ) -> None:
        """The newly assigned partitions: restore those that `restores` names (`start_restore`)."""

    async def restore(self, tp: TopicPartition) -> Restored:
        """Rebuild a partition's state."""
        raise NotImplementedError

    def accepts(self, tp: TopicPartition) -> bool:
        """Whether the partition's records can be processed now."""
        return tp not in self.restoring

    def forget(self) -> None:
        """Drop what is held in memory: the next session restores it from Kafka."""

    def between_batches(self) -> None:
        """A little deferred work, after each round of batches (kept short: it holds the loop)."""

    # -- the session's clients ---------------------------------------------------

    def attach(self, consumer: AIOKafkaConsumer, checkpoint: Checkpoint) -> None:
        self.consumer = consumer
        self.checkpoint = checkpoint
        self.failure = None

    def detach(self) -> None:
        for task in self.restoring.values():
            task.cancel()
        self.restoring.clear()
        self.consumer = None
        self.checkpoint = None

    def on_committed(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.committed.update(offsets)
        for tp, offset in offsets.items():
            self.stalls.progressed(tp, offset)

    # -- the loop ------------------------------------------------------------------

    async def run(self) -> None:
        """Fetch, process, submit each partition's batch with its offset; until cancelled.
        A batch's writes overlap the work on the next one (each partition's lane keeps them
        in order); the loop waits for them before submitting the batch after, and a failed
        write ends the session (raised here)."""
        consumer, checkpoint = self.consumer, self.checkpoint
        assert consumer is not None
        assert checkpoint is not None
        writing: list[asyncio.Task[None]] = []
        while True:
            end_if_cancelled()
            if self.failure is not None:
                raise self.failure
            fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=MAX_BATCH)
            submitted = []
            async with self.guard():
                for tp, records in fetched.items():
                    records = await self._in_order(tp, records)
                    done = await self.process(tp, records) if records else None
                    if done is None:
                        continue
                    await self.completing(done)
                    task = checkpoint.submit(tp, done, records[-1].offset + 1)
                    if task is not None:
                        submitted.append(task)
            await asyncio.gather(*writing)
            writing = submitted
            self.between_batches()

    def handed_over(self, tp: TopicPartition, records: Records) -> Records:
        """The records as the consumer handed them over (a test may stand in here)."""
        return records

    async def _in_order(self, tp: TopicPartition, records: Records) -> Records:
        """The records to process now, in order: none if the partition is not ready, and
        any the consumer skipped fetched again in front of the rest."""
        consumer = self.consumer
        assert consumer is not None
        records = self.handed_over(tp, records)
        if not records:
            return []
        if not self.accepts(tp):
            if tp in consumer.assignment():
                consumer.seek(tp, records[0].offset)  # fetched just before it was paused
            return []
        if not self.gapless or (
            self.gaps.missing(tp, records[0].offset) is None
            and records[-1].offset - records[0].offset + 1 == len(records)
        ):
            self.gaps.seen(tp, records[-1].offset)
            return records  # the usual case: no gap before or inside the batch
        whole: Records = []
        for record in records:
            missing = self.gaps.missing(tp, record.offset)
            if missing is not None:
                whole += await refetch(self._kafka, self._metrics, tp, *missing)
            whole.append(record)
            self.gaps.seen(tp, record.offset)
        return whole

    # -- restoring (rebalancing: assignment.py) ----------------------------------------

    def start_restore(self, tp: TopicPartition) -> None:
        consumer = self.consumer
        assert consumer is not None
        consumer.pause(tp)
        old = self.restoring.pop(tp, None)
        if old is not None:
            old.cancel()
        self.restoring[tp] = asyncio.create_task(self._restore(tp, time.monotonic()))

    async def _restore(self, tp: TopicPartition, started: float) -> None:
        """`started`: when the first attempt began, so that a retry's time counts too."""
        try:
            restored = await self.restore(tp)
            end_if_cancelled()  # revoked meanwhile, the cancellation lost on the way
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("restoring %s failed; trying again", tp)
            await asyncio.sleep(1)
            self.restoring[tp] = asyncio.create_task(self._restore(tp, started))
            return
        if self.restoring.get(tp) is asyncio.current_task():
            del self.restoring[tp]
        consumer = self.consumer
        if consumer is not None and tp in consumer.assignment():
            consumer.resume(tp)
        took = time.monotonic() - started
        if self._metrics is not None:
            self._metrics.restored(self.name, restored.source, took)
        log.info(
            "restored %s[%d] from its %s: %d records in %.2f s",
            tp.topic,
            tp.partition,
            restored.source,
            restored.records,
            took,
        )


async def refetch(
    kafka: KafkaSettings, metrics: WorkerMetrics | None, tp: TopicPartition, first: int, last: int
) -> Records:
    """Records the consumer skipped: fetched here, and processed before anything after."""
    records = await read_records(kafka, tp.topic, tp.partition, first, last - first + 1)
    log.error(
        "%s[%d]: offsets %d to %d never reached the worker; fetched %d of them again",
        tp.topic,
        tp.partition,
        first,
        last,
        len(records),
    )
    if metrics is not None:
        metrics.refetched(len(records))
    return records
