"""The cross-force view on Kafka: every worker publishes its forces' counts and reads everyone's.

Each force belongs to one by-force partition and so to one worker at a time; the
funnel limits need every force. Workers publish their forces' counts to a
compacted topic (key: the force) and read the whole topic back with a plain,
group-less consumer, so each computes the same statistics whoever holds what.

A worker on the wall clock also publishes the clock its counts are as of, under
the key CLOCK_KEY: `refmon report` reads it and reports as of that time by
default, so that the report and the workers' metrics agree in live operation
(deadlines that passed in wall time but not yet in event time count in both).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from refmon.streams.engine import Engine, ForceRow
from refmon.streams.engine.delays import DelayHistogram
from refmon.streams.engine.outlier_model import Outlier
from refmon.streams.engine.report import ForceCounts, National
from refmon.streams.metrics import Activity, RefmonMetrics
from refmon.streams.worker.health import HealthState
from refmon.streams.worker.messages import Counts, Outbound
from refmon.streams.worker.settings import WorkerSettings

CLOCK_KEY = "@clock"
"""Not a force code (those are capital letters): the key of the workers' clock record."""


def clock_message(topic: str, clock_us: int) -> Outbound:
    value = {"clock": "wall", "as_of_us": clock_us}
    return Outbound(topic, json.dumps(CLOCK_KEY).encode(), json.dumps(value).encode(), 0)


def workers_clock(records: Mapping[bytes, bytes | None]) -> int | None:
    """The clock the wall-clock workers last published (microseconds); None: none did."""
    value = records.get(json.dumps(CLOCK_KEY).encode())
    if not value:
        return None
    as_of = json.loads(value).get("as_of_us")
    return as_of if isinstance(as_of, int) else None


class SharedCounts:
    def __init__(self, config: WorkerSettings) -> None:
        self._config = config
        self._consumer: AIOKafkaConsumer | None = None
        self.values: dict[str, dict[str, Any]] = {}

    def publish(self, held: Mapping[str, ForceCounts], clock_us: int | None) -> list[Outbound]:
        """Our forces' counts, and on the wall clock the time they are as of (`clock_us`)."""
        topic = self._config.topics.force_counts_changelog
        messages = [
            Outbound(topic, json.dumps(force).encode(), json.dumps(counts.to_json()).encode(), 0)
            for force, counts in held.items()
        ]
        if self._config.clock == "wall" and held and clock_us is not None:
            messages.append(clock_message(topic, clock_us))
        return messages

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
        outliers: Iterable[Outlier] = (),
    ) -> None:
        activity = Activity.of(engines, counts.events, counts.rejected, self.forces)
        self.metrics.sync_activity(activity)
        rows, national = statistics
        delays: dict[str, DelayHistogram] = {}
        for engine in engines:
            delays.update(engine.referral_delays(window_days))
        self.metrics.sync_statistics(rows, national, delays, outliers)
        self.metrics.sync_lag({(tp.topic, tp.partition): lag for tp, lag in lags.items()})
        self.metrics.sync_stalled({(tp.topic, tp.partition) for tp in stalled})

    def refetched(self, count: int) -> None:
        self.metrics.refetched.inc(count)

    def restored(self, loop: str, source: str, seconds: float) -> None:
        self.metrics.pipeline.restore_seconds.labels(loop, source).observe(seconds)


class HealthCollector(Collector):
    """The worker's health as gauges, judged at each scrape (health.py): the age of the
    last broker contact keeps growing while the broker is gone, with no refresh needed."""

    def __init__(self, state: HealthState) -> None:
        self._state = state

    def collect(self) -> Iterable[Metric]:
        verdict = self._state.verdict()
        yield GaugeMetricFamily(
            "refmon_kafka_connected",
            "1 if a Kafka broker answered the worker within the last 15 s.",
            value=int(verdict.connected),
        )
        yield GaugeMetricFamily(
            "refmon_worker_ready",
            "1 if the worker is connected, has nothing restoring and nothing stalled (/readyz).",
            value=int(verdict.ready),
        )
        age = verdict.contact_age_s
        if age is not None:  # never contacted: absent rather than a made-up age
            yield GaugeMetricFamily(
                "refmon_kafka_last_contact_seconds",
                "Seconds since a Kafka broker last answered the worker.",
                value=age,
            )
