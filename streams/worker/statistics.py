"""The cross-force view on Kafka: every worker publishes its forces' counts and reads everyone's.

Each force belongs to one by-force partition and so to one worker at a time; the
funnel limits need every force. Workers publish their forces' counts to a
compacted topic (key: the force) and read the whole topic back with a plain,
group-less consumer, so each computes the same statistics whoever holds what.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from refmon.streams.engine import Engine, ForceRow
from refmon.streams.engine.delays import DelayHistogram
from refmon.streams.engine.report import ForceCounts, National
from refmon.streams.metrics import Activity, RefmonMetrics
from refmon.streams.worker.messages import Counts, Outbound
from refmon.streams.worker.settings import WorkerSettings


class SharedCounts:
    def __init__(self, config: WorkerSettings) -> None:
        self._config = config
        self._consumer: AIOKafkaConsumer | None = None
        self.values: dict[str, dict[str, Any]] = {}

    def publish(self, held: Mapping[str, ForceCounts]) -> list[Outbound]:
        topic = self._config.topics.force_counts_changelog
        return [
            Outbound(topic, json.dumps(force).encode(), json.dumps(counts.to_json()).encode(), 0)
            for force, counts in held.items()
        ]

    async def refresh(self) -> None:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                enable_auto_commit=False,
                isolation_level="read_committed",  # counts are written in transactions
                **self._config.kafka.aiokafka(),
            )
            await consumer.start()
            partition = TopicPartition(self._config.topics.force_counts_changelog, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            self._consumer = consumer
        batches = await self._consumer.getmany(timeout_ms=200)
        for records in batches.values():
            for record in records:
                self.values[json.loads(record.key)] = (
                    json.loads(record.value) if record.value else {}
                )

    def counts(self, forces: Iterable[str]) -> dict[str, ForceCounts]:
        """Every force's latest counts; a force nobody has published counts zero."""
        counts = {force: ForceCounts() for force in forces}
        counts.update(
            (f, ForceCounts.from_json(v)) for f, v in self.values.items() if v and f in counts
        )
        return counts

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class WorkerMetrics:
    """The worker's side of the one metrics refresh both runners share."""

    def __init__(self, metrics: RefmonMetrics, forces: Iterable[str]) -> None:
        self.metrics = metrics
        self.forces = tuple(forces)

    def sync(
        self,
        engines: list[Engine],
        counts: Counts,
        statistics: tuple[tuple[ForceRow, ...], National],
        lags: Mapping[Any, int],
        stalled: Iterable[Any],
        window_days: int,
    ) -> None:
        activity = Activity.of(engines, counts.events, counts.rejected, self.forces)
        self.metrics.sync_activity(activity)
        rows, national = statistics
        delays: dict[str, DelayHistogram] = {}
        for engine in engines:
            delays.update(engine.referral_delays(window_days))
        self.metrics.sync_statistics(rows, national, delays)
        self.metrics.sync_lag({(tp.topic, tp.partition): lag for tp, lag in lags.items()})
        self.metrics.sync_stalled({(tp.topic, tp.partition) for tp in stalled})

    def refetched(self, count: int) -> None:
        self.metrics.refetched.inc(count)
