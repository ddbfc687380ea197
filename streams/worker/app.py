"""The worker process: its lifecycle and wiring, one session of Kafka clients at a time.

Plain aiokafka clients, not Faust's streams: Faust's stream drops and
acknowledges messages itself around rebalances and recovery, and left
partitions paused after a broker restart (see docs/decisions.md).

Intake and judging are two consumer groups, so that each spreads its own
partitions evenly over the workers: the 45 single-partition input topics in
one (intake_loop.py), the by-force partitions in the other (judging_loop.py).
Each loop checkpoints its batches (checkpoint.py); housekeeping.py runs beside
them. A session is the two consumers and their producers (one per input
partition, exactly once); a Kafka failure (a fenced or failed transaction too)
ends it and the next starts from the committed offsets, with every partition
restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from refmon.schemas.events import EventAdapter
from refmon.streams.engine import Engine
from refmon.streams.worker import clients, snapshot
from refmon.streams.worker.announced import Seeder
from refmon.streams.worker.assignment import Rebalancing
from refmon.streams.worker.cancelling import cancel_and_wait
from refmon.streams.worker.checkpoint import Checkpoint
from refmon.streams.worker.force_findings import ForceFindings
from refmon.streams.worker.health import HealthState
from refmon.streams.worker.health_probe import HealthProbe
from refmon.streams.worker.housekeeping import Housekeeping
from refmon.streams.worker.intake_loop import IntakeLoop
from refmon.streams.worker.judging_loop import JudgingLoop
from refmon.streams.worker.lanes import ConfirmedLane, Lane, TransactionalLane
from refmon.streams.worker.leave import leave_groups
from refmon.streams.worker.loop import ConsumerLoop
from refmon.streams.worker.messages import Counts
from refmon.streams.worker.outliers import LiveOutliers
from refmon.streams.worker.reader import read_committed_where
from refmon.streams.worker.settings import WorkerSettings
from refmon.streams.worker.snapshots import Snapshots
from refmon.streams.worker.statistics import SharedCounts, WorkerMetrics

log = logging.getLogger("refmon.worker")


def snapshots_of(config: WorkerSettings) -> Snapshots | None:
    if not config.snapshot_seconds:
        return None
    folder = snapshot.folder_of(config.data_dir)
    return Snapshots(folder, config.kafka, config.topics, config.snapshot_seconds)


class Worker:
    def __init__(
        self,
        config: WorkerSettings,
        build_engine: Callable[[], Engine],
        adapter: EventAdapter,
        metrics: WorkerMetrics | None,
        wall_clock: Callable[[], int],
        intake: IntakeLoop | None = None,
        judging: JudgingLoop | None = None,
        health: HealthState | None = None,
    ) -> None:
        self.config = config
        topics = config.topics
        self.counts = Counts()
        self.intake = intake or IntakeLoop(
            config.kafka, topics, adapter, self.counts, config.stall_seconds, metrics
        )
        self.judging = judging or JudgingLoop(
            config.kafka,
            topics,
            adapter,
            self.counts,
            build_engine,
            config.forces,
            config.partition_count,
            config.stall_seconds,
            metrics,
            transactional_input=config.delivery == "exactly-once",
            snapshots=snapshots_of(config),
        )
        self._shared = SharedCounts(config)
        engine = build_engine()
        force_findings = ForceFindings(engine.ruleset)
        outliers = LiveOutliers(config, engine.ruleset, engine.holidays)
        self._housekeeping = Housekeeping(
            config,
            self.judging,
            (self.intake, self.judging),
            self._shared,
            force_findings,
            self.counts,
            metrics,
            wall_clock,
            outliers,
            Seeder(self._read_findings, (force_findings, outliers.findings)),
        )
        self._stop = asyncio.Event()
        self.health = HealthProbe(
            health or HealthState(), (self.intake, self.judging), contact=self.judging
        )

    async def _read_findings(self, keep: Callable[[bytes], bool]) -> dict[bytes, bytes]:
        config = self.config
        return await read_committed_where(
            config.kafka, config.topics.findings, config.partition_count, keep
        )

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Until stopped. A Kafka failure under a batch starts a new session from the
        committed offsets, with every partition restored: nothing for an operator to do."""
        log.info(
            "started: instance %s, topics %s.*, clock %s",
            self.config.member_id,
            self.config.topics.prefix,
            self.config.clock,
        )
        # Across sessions: between them, and while one cannot start, the broker is not there.
        health = asyncio.create_task(self.health.run())
        try:
            while not self._stop.is_set():
                try:
                    await self._session()
                except (KafkaError, OSError, TimeoutError) as err:
                    log.error(
                        "Kafka failed under the worker (%r); starting again from the "
                        "committed offsets",
                        err,
                    )
                    self.intake.forget()
                    self.judging.forget()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=1)
        finally:
            await cancel_and_wait([health])
            await self._shared.close()
            log.info("stopped")

    async def _session(self) -> None:
        """One producer and two consumers, until stopped or until a stall asks for new ones."""
        config = self.config
        topics = config.topics
        producer = clients.producer(config.kafka)
        inputs = [topics.input(s) for s in config.sources]
        consumers = [
            self._attach(self.intake, topics.intake_group, "intake", inputs, producer),
            self._attach(self.judging, topics.app_id, "judge", [topics.by_force], producer),
        ]
        tasks: list[asyncio.Task[Any]] = []
        try:
            await producer.start()
            for consumer in consumers:
                await consumer.start()
            tasks = [
                asyncio.create_task(self.intake.run()),
                asyncio.create_task(self.judging.run()),
                asyncio.create_task(self._housekeeping.run(self.judging.send)),
                asyncio.create_task(self._stop.wait()),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a loop's failure ends the session, to start afresh
        finally:
            await cancel_and_wait(tasks)
            for loop in (self.intake, self.judging):
                if loop.checkpoint is not None:
                    await loop.checkpoint.close()
            self.intake.detach()
            self.judging.detach()
            # Static members do not leave the group on stop: a restart within the
            # session timeout takes its partitions straight back.
            for client in consumers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.stop(), timeout=4)
            if self._stop.is_set():  # stopped for good: hand the partitions over now
                await leave_groups(config.kafka, self._memberships())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)

    def _memberships(self) -> list[tuple[str, str]]:
        """(group, static instance id) of each consumer, as `_attach` names them."""
        topics, member = self.config.topics, self.config.member_id
        return [(topics.intake_group, f"{member}-intake"), (topics.app_id, f"{member}-judge")]

    def _attach(
        self,
        loop: ConsumerLoop,
        group: str,
        suffix: str,
        topics: list[str],
        producer: AIOKafkaProducer,
    ) -> Any:
        config = self.config
        consumer = clients.group_consumer(
            config.kafka,
            group,
            f"{config.member_id}-{suffix}",
            config.session_timeout,
            topics,
            Rebalancing(loop),
        )

        async def open_lane(tp: TopicPartition) -> Lane:
            if config.delivery == "at-least-once":
                return ConfirmedLane(tp, loop.name, producer, consumer, loop.on_committed)

            def own() -> AIOKafkaProducer:
                return clients.transactional_producer(
                    config.kafka, clients.transactional_id(config.topics, tp)
                )

            lane = TransactionalLane(tp, own(), group, loop.on_committed, renewed=own)
            await lane.start()
            return lane

        loop.attach(consumer, Checkpoint(loop.name, open_lane))
        return consumer
