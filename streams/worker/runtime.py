"""The worker process: two consumer loops (intake and judging), one producer, and the core.

Plain aiokafka clients, not Faust's streams: Faust's stream drops and
acknowledges messages itself around rebalances and recovery, and left
partitions paused after a broker restart (see the README's note on Faust).
Here every record a consumer hands over is processed in offset order, what
it produces is confirmed by the broker (acks=all, idempotent producer), and
only then is its offset committed. A crash or a rebalance therefore repeats
work, and the core makes repeats harmless.

Intake and judging are two consumer groups, so that each spreads its own
partitions evenly over the workers: the 45 single-partition input topics in
one, the by-force partitions in the other. Each by-force partition has an
engine of its own, restored from the case changelog when the partition is new
to this worker, while that partition is paused and the rest go on; restoring
yields to the event loop every few thousand events, so heartbeats never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from aiokafka.errors import CommitFailedError, KafkaError
from refmon.schemas.events import EventAdapter
from refmon.streams.engine import Engine
from refmon.streams.engine.report import cross_force
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import FindingKind
from refmon.streams.kafka.state import held, is_legacy_key, migrate_forward
from refmon.streams.wire.dead_letters import DeadLetter
from refmon.streams.wire.delivery import CodecError, Delivery, decode_delivery, encode_delivery
from refmon.streams.worker.config import WorkerConfig
from refmon.streams.worker.core import (
    Counts,
    ForceFindings,
    Intake,
    Outbound,
    PartitionJudge,
    Refused,
    WatchdogIds,
    case_record_key,
    dead_letter,
    finding_messages,
)
from refmon.streams.worker.gaps import GapTracker
from refmon.streams.worker.reader import legacy_offsets, read_latest, read_records
from refmon.streams.worker.stalls import StallWatch
from refmon.streams.worker.statistics import SharedCounts, WorkerMetrics

log = logging.getLogger("refmon.worker")

MAX_BATCH = 5_000
FETCH_TIMEOUT_MS = 100
Records = list[ConsumerRecord[Any, Any]]


class _Loop:
    """What each consumer loop keeps: its consumer, where it has got to, what it waits for."""

    def __init__(self, name: str, stall_seconds: float) -> None:
        self.name = name
        self.consumer: AIOKafkaConsumer | None = None
        self.gaps: GapTracker[TopicPartition] = GapTracker()
        self.stalls: StallWatch[TopicPartition] = StallWatch(stall_seconds)
        self.restoring: dict[TopicPartition, asyncio.Task[None]] = {}
        # Our own last commit per partition: a judge is kept across a rebalance
        # only if nobody else has committed on its partition in between.
        self.committed: dict[TopicPartition, int] = {}

    def ready(self, tp: TopicPartition) -> bool:
        return tp not in self.restoring

    def cancel_restores(self) -> None:
        for task in self.restoring.values():
            task.cancel()
        self.restoring.clear()


class Worker:
    """A worker's state, named: its clients, its stages and the partitions it owns."""

    def __init__(
        self,
        config: WorkerConfig,
        build_engine: Callable[[], Engine],
        adapter: EventAdapter,
        metrics: WorkerMetrics | None,
        wall_clock: Callable[[], int],
    ) -> None:
        self.config = config
        self.topics = config.topics
        self.counts = Counts()
        self._build_engine = build_engine
        self._adapter = adapter
        self._metrics = metrics
        self._wall_clock = wall_clock
        self.watchdog = WatchdogIds(self.topics.watchdog_ids)
        self.intake = Intake(adapter, self.topics, self.watchdog, self.counts)
        self.judges: dict[int, PartitionJudge] = {}
        self._intake = _Loop("intake", config.stall_seconds)
        self._judging = _Loop("judge", config.stall_seconds)
        self._shared = SharedCounts(config)
        self._force_findings = ForceFindings(build_engine().ruleset)
        self._stop = asyncio.Event()
        # Held by the judging loop from judging a batch to its state sends, and by
        # retiring: a case is never folded while a delivery of it is on its way.
        self._state_lock = asyncio.Lock()
        self._producer: AIOKafkaProducer | None = None
        self._drop = config.test_drop

    @property
    def inputs(self) -> list[str]:
        return [self.topics.input(s) for s in self.config.sources]

    def stop(self) -> None:
        self._stop.set()

    # -- lifecycle -------------------------------------------------------------

    async def run(self) -> None:
        """Until stopped. A Kafka failure under a batch starts a new session from the
        committed offsets, with every partition restored: nothing for an operator to do."""
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
                    self._forget()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=1)
        finally:
            await self._shared.close()

    def _forget(self) -> None:
        """Drop what is held in memory: the next session restores it from Kafka."""
        self.judges.clear()
        self.watchdog = WatchdogIds(self.topics.watchdog_ids)
        self.intake = Intake(self._adapter, self.topics, self.watchdog, self.counts)

    def _consumer(
        self, group: str, suffix: str, topics: list[str], loop: _Loop
    ) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            group_id=group,
            # Static membership: a worker restarted after a crash takes its own
            # place at once, without waiting for its old session to time out.
            group_instance_id=f"{self.config.instance_id}-{suffix}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            session_timeout_ms=int(self.config.session_timeout_s * 1000),
            heartbeat_interval_ms=int(self.config.session_timeout_s * 1000 / 5),
            max_poll_interval_ms=300_000,
            partition_assignment_strategy=(StickyPartitionAssignor,),
            **self.config.kafka.aiokafka(),
        )
        consumer.subscribe(topics, listener=_Listener(self, loop))
        loop.consumer = consumer
        return consumer

    async def _session(self) -> None:
        """One producer and two consumers, until stopped or until a stall asks for new ones."""
        producer = AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            # A batch's sends are gathered anyway: waiting for more only adds latency.
            linger_ms=0,
            max_batch_size=256 * 1024,
            **self.config.kafka.aiokafka(),
        )
        intake = self._consumer(self.topics.intake_group, "intake", self.inputs, self._intake)
        judging = self._consumer(self.topics.app_id, "judge", [self.topics.by_force], self._judging)
        self._producer = producer
        tasks: list[asyncio.Task[Any]] = []
        try:
            await producer.start()
            await intake.start()
            await judging.start()
            tasks = [
                asyncio.create_task(self._run_loop(self._intake, self._intake_batch)),
                asyncio.create_task(
                    self._run_loop(self._judging, self._judge_batch, self._state_lock)
                ),
                asyncio.create_task(self._housekeeping()),
                asyncio.create_task(self._stop.wait()),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a loop's failure ends the session, to start afresh
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for loop in (self._intake, self._judging):
                loop.cancel_restores()
                loop.consumer = None
            # Static members do not leave the group on stop: a restart within the
            # session timeout takes its partitions straight back.
            for client in (intake, judging):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.stop(), timeout=4)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)
            self._producer = None

    async def _run_loop(
        self,
        loop: _Loop,
        handle: Callable[[TopicPartition, Records], Awaitable[Batch | None]],
        lock: asyncio.Lock | None = None,
    ) -> None:
        """Fetch, process, send what the batch produced, commit; `lock` is held from
        processing to the state sends (retiring must not fold a case between the two)."""
        consumer = loop.consumer
        assert consumer is not None
        # The commit of one batch overlaps the work on the next: commits still go out
        # in order (each waits for the one before), and only after their batch's sends.
        committing: asyncio.Task[None] | None = None
        try:
            while True:
                fetched = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=MAX_BATCH)
                batch = Batch()
                async with lock or contextlib.nullcontext():
                    for tp, records in fetched.items():
                        records = await self._in_order(loop, tp, records)
                        done = await handle(tp, records) if records else None
                        if done is not None:
                            batch.add(done, tp, records[-1].offset + 1)
                    if batch.offsets:
                        if batch.refused:
                            batch.outputs += await self._refused_letters(batch.refused)
                        await self._send(batch.outputs)
                        await self._send(batch.state)
                if batch.offsets:
                    if committing is not None:
                        await committing
                    committing = asyncio.create_task(self._commit(loop, batch.offsets))
        finally:
            # Stopping: let the last commit (of work already confirmed) land, briefly.
            if committing is not None and not committing.done():
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(committing), timeout=2)

    async def _in_order(self, loop: _Loop, tp: TopicPartition, records: Records) -> Records:
        """The records to process now, in order: none if the partition is not ready, and
        any the consumer skipped fetched again in front of the rest."""
        consumer = loop.consumer
        assert consumer is not None
        if self._drop is not None:
            records = self._drop.apply(tp, records)
        if not records:
            return []
        if not loop.ready(tp) or (
            tp.topic == self.topics.by_force and tp.partition not in self.judges
        ):
            if tp in consumer.assignment():
                consumer.seek(tp, records[0].offset)  # fetched just before it was paused
            return []
        if loop.gaps.missing(tp, records[0].offset) is None and (
            records[-1].offset - records[0].offset + 1 == len(records)
        ):
            loop.gaps.seen(tp, records[-1].offset)
            return records  # the usual case: no gap before or inside the batch
        whole: Records = []
        for record in records:
            missing = loop.gaps.missing(tp, record.offset)
            if missing is not None:
                whole += await self._refetch(tp, *missing)
            whole.append(record)
            loop.gaps.seen(tp, record.offset)
        return whole

    # -- the two stages -----------------------------------------------------------

    async def _intake_batch(self, tp: TopicPartition, records: Records) -> Batch | None:
        batch = Batch()
        for record in records:
            batch.outputs += self.intake.take(
                tp.topic, tp.partition, record.offset, record.timestamp, record.value or b""
            )
        return batch

    async def _judge_batch(self, tp: TopicPartition, records: Records) -> Batch | None:
        judge = self.judges.get(tp.partition)
        if judge is None:
            return None  # revoked while its records were being read: the next owner has them
        found: list[Delivery] = []
        for record in records:
            value = record.value or b""
            try:
                if value[:1] == b"{":  # forwarded by an earlier release
                    found.append(migrate_forward(value, self._adapter, self.topics))
                else:
                    found.append(decode_delivery(value))
            except (CodecError, ValueError, KeyError) as err:
                # Only refmon writes this topic: a record it cannot read is a bug or
                # tampering. Skipping it loses it, so say so loudly and count it.
                self.counts.rejected["internal_error"] += 1
                log.error(
                    "by-force %d:%d is not a delivery this release reads (%s); skipped",
                    tp.partition,
                    record.offset,
                    err,
                )
        judged = judge.judge(found)
        return Batch(judged.outputs, judged.state, judged.refused)

    async def _refused_letters(self, refused: list[Refused]) -> list[Outbound]:
        """Dead letters for deliveries the judge refused, with their input read back whole."""
        letters = []
        for source, rejection in refused:
            topic = self.topics.input(source.name)
            raw = await read_records(self.config.kafka, topic, source.partition, source.offset, 1)
            body = raw[0].value if raw else None
            letter = DeadLetter.of_message(topic, source.partition, source.offset, rejection, body)
            letters.append(dead_letter(self.topics, letter))
        return letters

    async def _refetch(self, tp: TopicPartition, first: int, last: int) -> Records:
        """Records the consumer skipped: fetched here, and judged before anything after them."""
        records = await read_records(
            self.config.kafka, tp.topic, tp.partition, first, last - first + 1
        )
        log.error(
            "%s[%d]: offsets %d to %d never reached the worker; fetched %d of them again",
            tp.topic,
            tp.partition,
            first,
            last,
            len(records),
        )
        if self._metrics is not None:
            self._metrics.refetched(len(records))
        return records

    async def _send(self, messages: Iterable[Outbound]) -> None:
        producer = self._producer
        assert producer is not None
        futures = [
            await producer.send(m.topic, m.value, key=m.key, partition=m.partition)
            for m in messages
        ]
        if futures:
            await asyncio.gather(*futures)

    async def _commit(self, loop: _Loop, offsets: dict[TopicPartition, int]) -> None:
        consumer = loop.consumer
        assert consumer is not None
        try:
            await consumer.commit(offsets)
        except CommitFailedError:
            # The group moved on: the new owner processes these again, harmlessly.
            log.warning("%s: commit refused after a rebalance; the new owner repeats it", loop.name)
            return
        loop.committed.update(offsets)
        for tp, offset in offsets.items():
            loop.stalls.progressed(tp, offset)

    # -- rebalancing ----------------------------------------------------------------

    async def assigned(self, loop: _Loop, tps: set[TopicPartition]) -> None:
        consumer = loop.consumer
        assert consumer is not None
        # Nothing is processed while this works out where each partition starts: the
        # other loop goes on between the awaits below, and would race the bookkeeping.
        if tps:
            consumer.pause(*tps)
        committed = {tp: await consumer.committed(tp) for tp in tps}
        if loop is self._intake:
            await self._continue_from_legacy(consumer, committed)
        # Where each partition's records must start: the committed offset, or the
        # log's start for a partition this group has never committed on.
        starts = await consumer.beginning_offsets(list(tps)) if tps else {}
        for tp in tps:
            loop.gaps.reset(tp, committed[tp] if committed[tp] is not None else starts.get(tp))
        if loop is self._judging:
            mine = {tp.partition for tp in tps}
            for partition in set(self.judges) - mine:
                del self.judges[partition]
            for tp in tps:
                if tp.partition in self.judges and committed[tp] == loop.committed.get(tp):
                    continue  # still ours, and nobody else moved it: keep the engine
                self.judges.pop(tp.partition, None)
                self._start_restore(loop, tp)
            log.warning(
                "assigned by-force partitions %s (%d to restore)", sorted(mine), len(loop.restoring)
            )
        else:
            watchdog = TopicPartition(self.topics.input("watchdog"), 0)
            if watchdog in tps:
                self._start_restore(loop, watchdog)
            log.warning("assigned %d input partition(s)", len(tps))
        ready = [tp for tp in tps if tp not in loop.restoring]
        if ready:
            consumer.resume(*ready)

    async def _continue_from_legacy(
        self, consumer: AIOKafkaConsumer, committed: dict[TopicPartition, int | None]
    ) -> None:
        """An input partition this group has never committed on continues where the release
        before (one group for everything, named by the prefix) had got to, not from the start."""
        fresh = [tp for tp, offset in committed.items() if offset is None]
        if not fresh:
            return
        previous = await legacy_offsets(self.config.kafka, self.topics.app_id, fresh)
        for tp, offset in previous.items():
            consumer.seek(tp, offset)
            committed[tp] = offset

    def revoked(self, loop: _Loop, tps: set[TopicPartition]) -> None:
        for tp in tps:
            task = loop.restoring.pop(tp, None)
            if task is not None:
                task.cancel()
            loop.stalls.forget(tp)

    def _start_restore(self, loop: _Loop, tp: TopicPartition) -> None:
        consumer = loop.consumer
        assert consumer is not None
        consumer.pause(tp)
        old = loop.restoring.pop(tp, None)
        if old is not None:
            old.cancel()
        loop.restoring[tp] = asyncio.create_task(self._restore(loop, tp))

    async def _restore(self, loop: _Loop, tp: TopicPartition) -> None:
        started = time.monotonic()
        try:
            if tp.topic == self.topics.by_force:
                held = await self._restore_judge(tp.partition)
            else:
                index = await read_latest(self.config.kafka, self.topics.watchdog_ids, 0)
                self.watchdog.load(index.items())
                held = len(index)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("restoring %s failed; trying again", tp)
            await asyncio.sleep(1)
            loop.restoring[tp] = asyncio.create_task(self._restore(loop, tp))
            return
        loop.restoring.pop(tp, None)
        consumer = loop.consumer
        if consumer is not None and tp in consumer.assignment():
            consumer.resume(tp)
        log.warning(
            "restored %s[%d]: %d records in %.2f s",
            tp.topic,
            tp.partition,
            held,
            time.monotonic() - started,
        )

    async def _restore_judge(self, partition: int) -> int:
        records = await read_latest(self.config.kafka, self.topics.cases_changelog, partition)
        stored = held(records, self._adapter, self.topics)
        judge = PartitionJudge(
            partition,
            self._build_engine(),
            self.topics,
            self.counts,
            sources_of(partition, self.config.forces, self.config.partitions),
        )
        for _ in judge.restore(stored):
            await asyncio.sleep(0)
        await self._send(judge.open_findings())
        legacy = [k for k, v in records.items() if is_legacy_key(k) and v is not None]
        if legacy:
            await self._migrate(partition, stored.deliveries, legacy)
        self.judges[partition] = judge
        return len(stored.deliveries) + len(stored.folded)

    async def _migrate(self, partition: int, held: list[Delivery], legacy: list[bytes]) -> None:
        """Rewrite an earlier release's case entries in the compact encoding, then drop them."""
        topic = self.topics.cases_changelog
        await self._send(
            [Outbound(topic, case_record_key(d), encode_delivery(d), partition) for d in held]
        )
        await self._send([Outbound(topic, key, None, partition) for key in legacy])
        log.warning("migrated %d case entries of partition %d", len(legacy), partition)

    # -- time, statistics, health ----------------------------------------------------

    async def _retire(self) -> None:
        """Fold each partition's cases that can no longer change any output: the folded
        records first, confirmed, then the deletions of what they fold."""
        margin = (self.config.window_days + self.config.retire_after_days) * MICROS_PER_DAY
        for judge in list(self.judges.values()):
            async with self._state_lock:
                folded, deletions = judge.retire(margin)
                if folded:
                    await self._send(folded)
                    await self._send(deletions)
            if folded:
                log.warning(
                    "retired %d case(s) of partition %d (%d changelog records)",
                    len(folded),
                    judge.partition,
                    len(deletions),
                )
            await asyncio.sleep(0)

    async def _housekeeping(self) -> None:
        last_stats = last_retire = 0.0
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            if time.monotonic() - last_retire >= self.config.retire_seconds:
                last_retire = time.monotonic()
                await self._retire()
            if self.config.clock == "wall":
                clock = self._wall_clock()
                for judge in list(self.judges.values()):
                    await self._send(judge.tick(clock))
            if time.monotonic() - last_stats >= self.config.stats_seconds:
                last_stats = time.monotonic()
                if await self._statistics():
                    return  # a stall persisted: end the session, start afresh

    async def _statistics(self) -> bool:
        """Publish our forces' counts, announce force-level findings, watch for stalls,
        refresh metrics. True: restart."""
        held = {}
        for judge in list(self.judges.values()):
            held.update(judge.force_counts(self.config.window_days))
            await asyncio.sleep(0)  # a partition at a time: batches go on in between
        await self._send(self._shared.publish(held))
        await self._shared.refresh()
        open_findings: Counter[tuple[str, FindingKind]] = Counter()
        for judge in list(self.judges.values()):
            open_findings.update(judge.engine.open_counts())
        statistics = cross_force(self._shared.counts(self.config.forces), open_findings)
        changes = self._force_findings.changes(statistics[0], set(held))
        await self._send(finding_messages(self.topics, changes))
        lags: dict[TopicPartition, int] = {}
        stalled: set[TopicPartition] = set()
        restart = False
        for loop in (self._intake, self._judging):
            lags.update(await self._watch(loop))
            stalled |= loop.stalls.stalled()
            restart = restart or loop.stalls.restart_needed
        if self._metrics is not None:
            self._metrics.sync(
                [j.engine for j in self.judges.values()],
                self.counts,
                statistics,
                lags,
                stalled,
                self.config.window_days,
            )
        if restart:
            log.error("partitions stayed stalled after a resume; starting new consumers")
            for loop in (self._intake, self._judging):
                loop.stalls.restarted()
        return restart

    async def _watch(self, loop: _Loop) -> dict[TopicPartition, int]:
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
            if mine is not None:
                positions[tp] = mine
        lags = loop.stalls.check(ends, positions, set(loop.restoring))
        for tp in loop.stalls.to_resume():
            log.error(
                "%s[%d] has lag %d and has not moved for %.0f s; seeking to its position "
                "and resuming",
                tp.topic,
                tp.partition,
                lags.get(tp, 0),
                self.config.stall_seconds,
            )
            position = loop.stalls.position(tp)
            if position is not None:
                consumer.seek(tp, position)
            consumer.resume(tp)
        return lags


def sources_of(partition: int, forces: Iterable[str], partitions: int) -> frozenset[str]:
    """The input sources whose events reach a by-force partition: the forces the producer's
    partitioner (Kafka's murmur2 of the force, the key intake forwards by) puts there, and
    the watchdog, whose events go to every force's partition."""
    from aiokafka.partitioner import DefaultPartitioner

    choose = DefaultPartitioner()
    every = list(range(partitions))
    mine = {f for f in forces if choose(f.encode(), every, every) == partition}
    return frozenset({*mine, "watchdog"})


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


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker, loop: _Loop) -> None:
        self._worker = worker
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._worker.revoked(self._loop, set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._worker.assigned(self._loop, set(assigned))
