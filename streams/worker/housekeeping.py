"""Housekeeping, every tick beside the two loops: retirement, the wall clock, statistics and
the stall watch.

Retirement folds each partition's cases that can no longer change any output;
with the wall clock, deadlines fire with no new events; every few seconds the
worker publishes its forces' counts, announces force-level findings, refreshes
its metrics and looks for stalled partitions (stalls.py). A stall that persists
after a resume ends the session, so that the worker starts new consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from refmon.streams.engine.outlier_model import Outlier
from refmon.streams.engine.report import cross_force
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import FindingKind
from refmon.streams.worker.announced import Seeder
from refmon.streams.worker.force_findings import ForceFindings
from refmon.streams.worker.judging_loop import JudgingLoop
from refmon.streams.worker.loop import ConsumerLoop
from refmon.streams.worker.messages import Counts, Outbound, finding_messages
from refmon.streams.worker.outliers import LiveOutliers
from refmon.streams.worker.settings import WorkerSettings
from refmon.streams.worker.statistics import SharedCounts, WorkerMetrics

log = logging.getLogger("refmon.worker")

Send = Callable[[int, list[Outbound], list[Outbound] | None], Awaitable[None]]
"""Records of one by-force partition's judge, in that partition's lane (checkpoint.py):
outputs, then state."""


class Housekeeping:
    def __init__(
        self,
        config: WorkerSettings,
        judging: JudgingLoop,
        loops: tuple[ConsumerLoop, ...],
        shared: SharedCounts,
        force_findings: ForceFindings,
        counts: Counts,
        metrics: WorkerMetrics | None,
        wall_clock: Callable[[], int],
        outliers: LiveOutliers | None = None,
        seeder: Seeder | None = None,
    ) -> None:
        self._config = config
        self._judging = judging
        self._loops = loops
        self._shared = shared
        self._force_findings = force_findings
        self._counts = counts
        self._metrics = metrics
        self._wall_clock = wall_clock
        self._outliers = outliers
        self._seeder = seeder

    async def run(self, send: Send) -> None:
        """Until cancelled, or until a stall persists (then returns: start afresh)."""
        config = self._config
        if self._seeder is not None:
            self._seeder.forget()  # a new session: what was sent is read again
        last_stats = last_retire = 0.0
        while True:
            await asyncio.sleep(config.tick_seconds)
            if time.monotonic() - last_retire >= config.retire_seconds:
                last_retire = time.monotonic()
                await self._retire(send)
            if config.clock == "wall":
                clock = self._wall_clock()
                for judge in list(self._judging.judges.values()):
                    await send(judge.partition, judge.tick(clock), None)
            if time.monotonic() - last_stats >= config.stats_seconds:
                last_stats = time.monotonic()
                if await self._statistics(send):
                    return

    async def _retire(self, send: Send) -> None:
        """Fold each partition's cases that can no longer change any output: the archive
        records that hold them first, confirmed, then the deletions of their deliveries."""
        margin = (self._config.window_days + self._config.retire_after_days) * MICROS_PER_DAY
        for judge in list(self._judging.judges.values()):
            async with self._judging.state_lock:
                folded, deletions = judge.retire(margin)
                if folded:
                    await send(judge.partition, folded, deletions)
            if folded:
                log.info(
                    "retired %d case(s) of partition %d (%d changelog records deleted)",
                    judge.last_retired,
                    judge.partition,
                    len(deletions),
                )
            await asyncio.sleep(0)

    async def _statistics(self, send: Send) -> bool:
        """Publish our forces' counts, announce force-level findings, watch for stalls,
        refresh metrics. True: restart."""
        config = self._config
        judges = self._judging.judges
        held = {}
        partition_of: dict[str, int] = {}
        clocks = [j.engine.clock for j in judges.values() if j.engine.clock is not None]
        clock = max(clocks, default=None)
        for judge in list(judges.values()):
            mine = judge.force_counts(config.window_days)
            held.update(mine)
            partition_of.update(dict.fromkeys(mine, judge.partition))
            await send(judge.partition, self._shared.publish(mine, clock), None)
            await asyncio.sleep(0)  # a partition at a time: batches go on in between
        await self._shared.refresh()
        open_findings: Counter[tuple[str, FindingKind]] = Counter()
        for judge in list(judges.values()):
            open_findings.update(judge.engine.open_counts())
        statistics = cross_force(self._shared.counts(config.forces), open_findings)
        if self._seeder is not None:  # a force new to us: from what was announced for it
            await self._seeder.held(set(held))
        changes = self._force_findings.changes(statistics[0], set(held))
        for partition in sorted(set(partition_of.values())):
            theirs = [c for c in changes if partition_of.get(c.finding.force) == partition]
            await send(partition, finding_messages(config.topics, theirs), None)
        outliers: tuple[Outlier, ...] = ()
        if self._outliers is not None:  # section 14: published, combined, announced
            by_partition = {p: j.engine for p, j in judges.items()}
            outliers = await self._outliers.tick(
                by_partition, self._shared.values, partition_of, send
            )
        lags: dict[TopicPartition, int] = {}
        stalled: set[TopicPartition] = set()
        restart = False
        for loop in self._loops:
            lags.update(await watch(loop))
            stalled |= loop.stalls.stalled()
            restart = restart or loop.stalls.restart_needed
        if self._metrics is not None:
            engines = [j.engine for j in judges.values()]
            self._metrics.sync(
                engines, self._counts, statistics, lags, stalled, config.window_days, outliers
            )
        if restart:
            log.error("partitions stayed stalled after a resume; starting new consumers")
            for loop in self._loops:
                loop.stalls.restarted()
        return restart


async def watch(loop: ConsumerLoop) -> dict[TopicPartition, int]:
    """A loop's lag per partition; a stalled partition is sought to its position and resumed."""
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
        if mine is not None and not loop.gapless:
            # Commit markers and aborted records take offsets the loop never sees: once
            # the consumer is past them, so is processing.
            with contextlib.suppress(TimeoutError):  # no position yet: keep our own
                mine = max(mine, int(await asyncio.wait_for(consumer.position(tp), 1)))
        if mine is not None:
            positions[tp] = mine
    lags = loop.stalls.check(ends, positions, set(loop.restoring))
    for tp in loop.stalls.to_resume():
        log.error(
            "%s[%d] has lag %d and has not moved for %.0f s; seeking to its position and resuming",
            tp.topic,
            tp.partition,
            lags.get(tp, 0),
            loop.stall_seconds,
        )
        position = loop.stalls.position(tp)
        if position is not None:
            consumer.seek(tp, position)
        consumer.resume(tp)
    return lags
