"""The intake loop: the input topics (one partition each) in, forwards by force out.

Its state is the watchdog's id index (intake.py), restored from its compacted
topic whenever the watchdog's input partition is assigned here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiokafka import TopicPartition
from refmon.schemas.events import EventAdapter
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker import upgrade
from refmon.streams.worker.checkpoint import Batch
from refmon.streams.worker.intake import Intake, WatchdogIds
from refmon.streams.worker.loop import ConsumerLoop, Records, Restored
from refmon.streams.worker.messages import Counts
from refmon.streams.worker.reader import read_latest
from refmon.streams.worker.statistics import WorkerMetrics

log = logging.getLogger("refmon.worker")


class IntakeLoop(ConsumerLoop):
    name = "intake"

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: Topics,
        adapter: EventAdapter,
        counts: Counts,
        stall_seconds: float,
        metrics: WorkerMetrics | None,
    ) -> None:
        super().__init__(kafka, stall_seconds, metrics)
        self._topics = topics
        self._adapter = adapter
        self._counts = counts
        self.watchdog = WatchdogIds(topics.watchdog_ids)
        self.intake = Intake(adapter, topics, self.watchdog, counts)

    def forget(self) -> None:
        self.watchdog = WatchdogIds(self._topics.watchdog_ids)
        self.intake = Intake(self._adapter, self._topics, self.watchdog, self._counts)

    async def process(self, tp: TopicPartition, records: Records) -> Batch | None:
        batch = Batch()
        for record in records:
            batch.outputs += self.intake.take(
                tp.topic, tp.partition, record.offset, record.timestamp, record.value or b""
            )
        return batch

    async def assigning(self, committed: dict[TopicPartition, int | None]) -> None:
        """An input partition this group has never committed on continues where the release
        before (one group for everything, named by the prefix) had got to, not from the start."""
        consumer = self.consumer
        assert consumer is not None
        fresh = [tp for tp, offset in committed.items() if offset is None]
        if not fresh:
            return
        previous = await upgrade.legacy_offsets(self._kafka, self._topics.app_id, fresh)
        for tp, offset in previous.items():
            consumer.seek(tp, offset)
            committed[tp] = offset

    def restores(self, tp: TopicPartition, committed: int | None) -> bool:
        return (tp.topic, tp.partition) == (self._topics.input("watchdog"), 0)

    def assigned(
        self, tps: set[TopicPartition], committed: Mapping[TopicPartition, int | None]
    ) -> None:
        for tp in tps:
            if self.restores(tp, committed[tp]):
                self.start_restore(tp)
        log.info("assigned %d input partition(s)", len(tps))

    async def restore(self, tp: TopicPartition) -> Restored:
        index = await read_latest(self._kafka, self._topics.watchdog_ids, 0)
        self.watchdog.load(index.items())
        return Restored(len(index))
