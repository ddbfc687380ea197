"""Outliers on Kafka (docs/contract.md section 14): review points need every force's counts.

Each partition publishes what the review points need of its forces (its counts
at each review point, its outlier actions, its first event and clock:
streams/wire/review_inputs.py) to the force-counts changelog, and only what
changed since it last did. Every worker reads them all back and works out the
same outliers as `refmon report`, with the engine's own pure functions; the
findings and metrics follow from them (force_findings.py, statistics.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Set
from datetime import date, tzinfo
from time import monotonic
from typing import Any

from refmon.streams.engine import Engine, Ruleset
from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.outlier_model import Outlier
from refmon.streams.engine.outliers import open_outliers
from refmon.streams.engine.review import review_points, review_rows
from refmon.streams.wire import review_inputs as wire
from refmon.streams.worker.force_findings import OutlierFindings
from refmon.streams.worker.messages import Outbound
from refmon.streams.worker.settings import WorkerSettings

Send = Callable[[int, list[Outbound], list[Outbound] | None], Awaitable[None]]
"""Records to send in a transaction of a by-force partition (housekeeping.py's `Send`)."""

RECOUNT_TICKS = 4
"""New events alone recount a partition's review points every this many statistics ticks."""


class ReviewPublisher:
    """Per partition, the outlier inputs last published, so that only changes are sent."""

    def __init__(self, topic: str, window_days: int, every_seconds: float = 0.0) -> None:
        """`every_seconds`: new events alone recount a partition at most this often (a
        national year takes about a second to recount); new review points, or a partition
        new to this worker, at once."""
        self._topic = topic
        self._window_days = window_days
        self._every = every_seconds
        self._sent: dict[str, bytes] = {}
        # partition -> (its engine, events applied, review points) its counts were last
        # computed for, and when: counts at a review point change only with a new event.
        self._computed: dict[int, tuple[tuple[int, int, tuple[int, ...]], float]] = {}
        self._pending: dict[int, tuple[tuple[int, int, tuple[int, ...]], float]] = {}

    def publish(
        self,
        engines: Mapping[int, Engine],
        inputs: wire.ReviewInputs,
        zone: tzinfo,
        now: float = 0.0,
    ) -> list[Outbound]:
        """The changed records of these partitions, each partition's own record last (a
        reader that sees it has seen the counts it vouches for: one topic partition).
        `now`: a monotonic time in seconds, for `every_seconds`."""
        sends: list[Outbound] = []
        for partition, engine in engines.items():
            first = _earliest(inputs.first_event, engine.first_event)
            clock = _latest(inputs.clock, engine.clock)
            points = review_points(first, clock, zone)
            computed = (id(engine), engine.valid, points)
            if self._due(partition, computed, now):
                counts = engine.held_review_counts(points, self._window_days)
                for force, series in counts.items():
                    for point, at in zip(points, series, strict=True):
                        sends += self._changed(wire.review_key(force, point), wire.review_value(at))
                for (force, outlier_id), actions in engine.held_actions().items():
                    key = wire.actions_key(force, outlier_id)
                    sends += self._changed(key, wire.actions_value(actions))
                self._pending[partition] = (computed, now)
            value = wire.partition_value(engine.first_event, engine.clock, points)
            sends += self._changed(wire.partition_key(partition), value)
        return sends

    def _due(self, partition: int, computed: tuple[int, int, tuple[int, ...]], now: float) -> bool:
        last = self._computed.get(partition)
        if last is None:
            return True
        (engine, valid, points), at = last
        if (engine, points) != (computed[0], computed[2]):
            return True
        return valid != computed[1] and now - at >= self._every

    def sent(self, sends: Iterable[Outbound]) -> None:
        """Confirm what was sent: a send that failed is sent again next time."""
        for send in sends:
            if send.key is not None and send.value is not None:
                self._sent[send.key.decode()] = send.value
        self._computed.update(self._pending)
        self._pending.clear()

    def _changed(self, key: str, body: object) -> list[Outbound]:
        value = wire.dumps(body)
        encoded = wire.dumps(key)
        if self._sent.get(encoded.decode()) == value:
            return []
        return [Outbound(self._topic, encoded, value, 0)]


def combined_outliers(
    inputs: wire.ReviewInputs,
    forces: Iterable[str],
    partitions: int,
    zone: tzinfo,
    holidays: Set[date],
) -> tuple[Outlier, ...] | None:
    """Every force's outliers from every partition's published inputs, as `refmon report`
    gives them; None until every partition has published for the same review points."""
    clock = inputs.clock
    if clock is None:
        return None
    points = review_points(inputs.first_event, clock, zone)
    if not inputs.complete(partitions, points):
        return None
    counts = {
        force: tuple(inputs.counts.get(force, {}).get(p) or ForceCounts(as_of=p) for p in points)
        for force in forces
    }
    return open_outliers(points, review_rows(points, counts), inputs.actions, clock, zone, holidays)


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


class LiveOutliers:
    """A worker's outliers, every statistics tick: publish its partitions' inputs, combine
    everyone's, announce the `outlier_overdue` findings of the forces it holds."""

    def __init__(self, config: WorkerSettings, ruleset: Ruleset, holidays: Set[date]) -> None:
        self._config = config
        self._zone = ruleset.zone
        self._holidays = holidays
        self._publisher = ReviewPublisher(
            config.topics.force_counts_changelog,
            config.window_days,
            RECOUNT_TICKS * config.stats_seconds,
        )
        self.findings = OutlierFindings(config.topics, ruleset.id, ruleset.zone)
        self.latest: tuple[Outlier, ...] = ()
        """The outliers as last combined in full (kept while an input is missing)."""

    async def tick(
        self,
        engines: Mapping[int, Engine],
        values: Mapping[str, Any],
        partition_of: Mapping[str, int],
        send: Send,
    ) -> tuple[Outlier, ...]:
        """`partition_of`: the partition of each force held. What a partition's state
        yields goes out in that partition's transaction, so a worker that has lost the
        partition is fenced from sending it."""
        inputs = wire.read(values)
        for partition, engine in engines.items():
            sends = self._publisher.publish({partition: engine}, inputs, self._zone, monotonic())
            await send(partition, sends, None)
            self._publisher.sent(sends)
            await asyncio.sleep(0)  # a partition at a time: batches go on in between
        config = self._config
        combined = combined_outliers(
            inputs, config.forces, config.partition_count, self._zone, self._holidays
        )
        if combined is not None:
            for partition in sorted(set(partition_of.values())):
                forces = {f for f, p in partition_of.items() if p == partition}
                await send(partition, self.findings.messages(combined, forces), None)
            self.latest = combined
        return self.latest
