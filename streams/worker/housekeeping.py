"""Housekeeping, every tick beside the two loops: retirement, the wall clock, statistics and
the stall watch.

Retirement folds each partition's cases that can no longer change any output;
with the wall clock, deadlines fire with no new events. Every few seconds, one job
after another: the worker publishes its forces' counts and reads everyone's,
announces force-level findings and outliers, looks for stalled partitions
(lag_watch.py) and refreshes its metrics. A stall that persists after a resume
ends the session, so that the worker starts new consumers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from refmon.streams.engine.outlier_model import Outlier
from refmon.streams.engine.report import ForceRow, National, cross_force
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.engine.vocabulary import FindingKind
from refmon.streams.worker.announced import Seeder
from refmon.streams.worker.cancelling import end_if_cancelled
from refmon.streams.worker.force_findings import ForceFindings
from refmon.streams.worker.judging_loop import JudgingLoop
from refmon.streams.worker.lag_watch import LagWatch, Watched
from refmon.streams.worker.loop import ConsumerLoop
from refmon.streams.worker.messages import Counts, Outbound, finding_messages
from refmon.streams.worker.outliers import LiveOutliers
from refmon.streams.worker.settings import WorkerSettings
from refmon.streams.worker.statistics import SharedCounts, WorkerMetrics

log = logging.getLogger("refmon.worker")

Send = Callable[[int, list[Outbound], list[Outbound] | None], Awaitable[None]]
"""Records of one by-force partition's judge, in that partition's lane (checkpoint.py):
outputs, then state."""

Statistics = tuple[tuple[ForceRow, ...], National]


RESTORE_WAIT_SECONDS = 30.0
"""How long housekeeping waits for restores before it runs beside them."""


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
        self._lag_watch = LagWatch(loops)
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
        waiting_since: float | None = None
        while True:
            end_if_cancelled()
            await asyncio.sleep(config.tick_seconds)
            # Retiring and the statistics wait while a partition is restored: they share
            # the event loop with the restore, and a tick among the restores (counts,
            # outliers, metrics over the partitions already held) delayed serving by
            # seconds. Not for ever: a restore failing again and again must not also stop
            # the metrics and the lag watch of the partitions held.
            restoring = self._restoring()
            if not restoring:
                waiting_since = None
            elif waiting_since is None:
                waiting_since = time.monotonic()
            elif time.monotonic() - waiting_since >= RESTORE_WAIT_SECONDS:
                restoring = False
            if not restoring and time.monotonic() - last_retire >= config.retire_seconds:
                last_retire = time.monotonic()
                await self._retire(send)
            if not restoring:
                await self._judging.take_snapshots()
            if config.clock == "wall":
                clock = self._wall_clock()
                for judge in list(self._judging.judges.values()):
                    if not self._judging.holds(judge):
                        continue  # dropped by a rebalance meanwhile: its lane is another's
                    outputs, state = judge.tick(clock)
                    await send(judge.partition, outputs, state)
            if restoring:
                continue
            if time.monotonic() - last_stats >= config.stats_seconds:
                last_stats = time.monotonic()
                partition_of = await self._publish_counts(send)
                statistics = self._cross_force()
                if self._seeder is not None:  # a force new to us: from what was announced for it
                    await self._seeder.held(set(partition_of))
                await self._announce_force_findings(statistics[0], partition_of, send)
                outliers = await self._announce_outliers(partition_of, send)
                watched = await self._lag_watch.check()
                self._sync_metrics(statistics, watched, outliers)
                if watched.restart:
                    self._lag_watch.restarting()
                    return

    def _restoring(self) -> bool:
        return any(loop.restoring for loop in self._loops)

    async def _retire(self, send: Send) -> None:
        """Fold each partition's cases that can no longer change any output: the archive
        records that hold them first, confirmed, then the deletions of their deliveries."""
        margin = (self._config.window_days + self._config.retire_after_days) * MICROS_PER_DAY
        for judge in list(self._judging.judges.values()):
            async with self._judging.state_lock:
                if not self._judging.holds(judge):
                    continue  # dropped by a rebalance while we waited for the lock
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

    async def _publish_counts(self, send: Send) -> dict[str, int]:
        """Publish the counts of the forces we hold, and the clock they are as of, then read
        everyone's. Returns the forces we hold, with their partition."""
        judges = self._judging.judges
        partition_of: dict[str, int] = {}
        clocks = [j.engine.clock for j in judges.values() if j.engine.clock is not None]
        clock = max(clocks, default=None)
        for judge in list(judges.values()):
            mine = judge.force_counts(self._config.window_days)
            partition_of.update(dict.fromkeys(mine, judge.partition))
            await send(judge.partition, self._shared.publish(mine, clock), None)
            await asyncio.sleep(0)  # a partition at a time: batches go on in between
        await self._shared.refresh()
        return partition_of

    def _cross_force(self) -> Statistics:
        """The cross-force view from every worker's counts, with our forces' open findings."""
        open_findings: Counter[tuple[str, FindingKind]] = Counter()
        for judge in list(self._judging.judges.values()):
            open_findings.update(judge.engine.open_counts())
        return cross_force(self._shared.counts(self._config.forces), open_findings)

    async def _announce_force_findings(
        self, rows: tuple[ForceRow, ...], partition_of: Mapping[str, int], send: Send
    ) -> None:
        """`deterioration` and `volume_anomaly` as they change, each in the transactions
        of its force's partition."""
        changes = self._force_findings.changes(rows, set(partition_of))
        for partition in sorted(set(partition_of.values())):
            theirs = [c for c in changes if partition_of.get(c.finding.force) == partition]
            await send(partition, finding_messages(self._config.topics, theirs), None)

    async def _announce_outliers(
        self, partition_of: Mapping[str, int], send: Send
    ) -> tuple[Outlier, ...]:
        """Section 14: our partitions' review inputs published, everyone's combined, the
        `outlier_overdue` findings of our forces announced."""
        if self._outliers is None:
            return ()
        by_partition = {p: j.engine for p, j in self._judging.judges.items()}
        return await self._outliers.tick(by_partition, self._shared.values, partition_of, send)

    def _sync_metrics(
        self, statistics: Statistics, watched: Watched, outliers: tuple[Outlier, ...]
    ) -> None:
        if self._metrics is None:
            return
        engines = [j.engine for j in self._judging.judges.values()]
        self._metrics.sync(
            engines,
            self._counts,
            statistics,
            watched.lags,
            watched.stalled,
            self._config.window_days,
            outliers,
        )
