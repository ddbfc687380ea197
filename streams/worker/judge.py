"""The judging stage: one by-force partition's engine, fed deliveries exactly once.

Each by-force partition has a judge: an engine of its own (so partitions move
between workers without touching each other) and, per input source, the
highest offset it has applied, so that a message forwarded or delivered again
after a crash changes nothing. Client-free, so it is tested without a broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Engine
from refmon.streams.engine.report import ForceCounts
from refmon.streams.judging import judge
from refmon.streams.kafka.state import (
    ArchiveRecord,
    Folded,
    Held,
    encode_late,
    encode_tick_clock,
    late_key,
    replay,
    tick_clock_key,
)
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Delivery, Source, encode_delivery
from refmon.streams.worker.applied import Applied
from refmon.streams.worker.messages import (
    Counts,
    Outbound,
    case_record_key,
    finding_messages,
    record_key,
)
from refmon.streams.worker.open_archive import OpenArchive

RESTORE_CHUNK = 2_000
"""Events applied between yields to the event loop while a partition is restored:
a few tens of milliseconds, far inside a heartbeat interval."""


class Refused(NamedTuple):
    """A delivery the judge will not apply; the runtime fetches its input for the dead letter."""

    source: Source
    rejection: Rejection


class Judged(NamedTuple):
    state: list[Outbound]
    """Changelog records: sent after the outputs, so a crash repeats an alert, never loses one."""
    outputs: list[Outbound]
    refused: list[Refused]


class JudgeState(NamedTuple):
    """Everything a judge holds but its wiring: what a snapshot of it keeps (snapshot.py)."""

    engine: Engine
    applied: Applied
    archive: OpenArchive


class PartitionJudge:
    """One by-force partition: its engine, per input source the highest offset applied,
    and per case the deliveries its changelog holds (to fold them when it retires)."""

    def __init__(
        self,
        partition: int,
        engine: Engine,
        topics: Topics,
        counts: Counts,
        sources: frozenset[str] = frozenset(),
    ) -> None:
        self.partition = partition
        self.engine = engine
        self._topics = topics
        self._counts = counts
        self._applied = Applied(sources)
        self._archive = OpenArchive()
        self._singles: tuple[tuple[bytes, Folded | None], ...] = ()
        self.last_retired = 0
        """How many cases the last `retire` folded (for the log)."""

    def restore(self, stored: Held) -> Iterator[int]:
        """Apply a changelog's contents, retired cases first, then deliveries in event-time
        order; yields every RESTORE_CHUNK events.

        Nothing is sent while restoring: these changes were sent when first made.
        """
        self._applied.late = list(stored.late)
        self._singles = stored.single
        if stored.archive:
            self._archive.reopen(stored.archive[-1])
        return replay(self.engine, stored, RESTORE_CHUNK, self._applied.note, self._replayed)

    def reopen_archive(self, last: ArchiveRecord) -> None:
        self._archive.reopen(last)

    def state(self) -> JudgeState | None:
        """What a snapshot keeps; None while an earlier release's records wait to be moved
        into the archive (a restore does that before anything else)."""
        if self._singles:
            return None
        return JudgeState(self.engine, self._applied, self._archive)

    def resume(self, state: JudgeState) -> None:
        """Take up a snapshot's state, in place of a restore's replay (a new judge only)."""
        self.engine, self._applied, self._archive = state

    def catch_up(self, delivery: Delivery) -> None:
        """Apply a delivery its changelog holds but the snapshot did not, as a restore does."""
        if self._applied.has(delivery.source):
            return  # in the snapshot already
        self.engine.apply(delivery.event, delivery.received_at_us)
        self._replayed(delivery)

    def catch_up_late(self, late: list[Source]) -> None:
        """The partition's record of late repeats as the changelog holds it now: it only ever
        grows, so what the snapshot lacks is its end."""
        added = self._applied.extend_late(late)
        self.engine.duplicate += len(added)
        for source in added:
            self._applied.note(source)

    @property
    def sources(self) -> frozenset[str]:
        return self._applied.sources

    def is_live(self, force: str, case_id: str) -> bool:
        return self._applied.is_live(force, case_id)

    def retire(self, margin_us: int) -> tuple[list[Outbound], list[Outbound]]:
        """Fold the cases that can no longer change any output (streams/engine/retirement.py):
        the archive records that now hold them, to write first, and the deletions of their
        deliveries, after. A case retires once everything about it is `margin_us` older
        than the watermark."""
        topic = self._topics.cases_changelog
        deletions: list[Outbound] = []
        watermark = self._applied.watermark()
        if watermark is None:
            return [], deletions
        retiring: list[Folded] = []
        for force, case_id in self.engine.retirable(watermark - margin_us):
            folded = self.retire_case(force, case_id)
            retiring.append(folded)
            deletions += [
                Outbound(topic, record_key(force, case_id, *source), None, self.partition)
                for source in folded.sources
            ]
        self.last_retired = len(retiring)
        return self._archived(retiring), deletions

    def retire_case(self, force: str, case_id: str) -> Folded:
        """One case folded: dropped from the engine and from what is kept of its deliveries."""
        retired = self.engine.retire(force, case_id)
        ids, sources = self._applied.fold(force, case_id)
        return Folded(retired, ids, tuple(sources), len(ids), len(sources) - len(ids))

    def archive_singles(self) -> tuple[list[Outbound], list[Outbound]]:
        """An earlier release's records of one retired case each, moved into the archive:
        the archive records, to write first, and the deletions of the single records."""
        singles, self._singles = self._singles, ()
        written = self._archived([f for _, f in singles if f is not None])
        topic = self._topics.cases_changelog
        return written, [Outbound(topic, key, None, self.partition) for key, _ in singles]

    def _archived(self, cases: list[Folded]) -> list[Outbound]:
        topic = self._topics.cases_changelog
        return [
            Outbound(topic, key, value, self.partition)
            for key, value in self._archive.add(cases, self.partition)
        ]

    def _replayed(self, delivery: Delivery) -> None:
        self._applied.note(delivery.source)
        self._applied.keep(delivery)

    def judge(self, deliveries: Iterable[Delivery]) -> Judged:
        state: list[Outbound] = []
        outputs: list[Outbound] = []
        refused: list[Refused] = []
        for delivery in deliveries:
            source, event, received_us = delivery
            if self._applied.has(source):
                continue  # forwarded or delivered again after a crash: applied already
            # Intake checked the time against when the input was received; that time
            # also caps the clock (docs/contract.md section 13). Unknown in a format-1
            # delivery: then the event's own time stands, as it did before.
            received = event.occurred_at_us if received_us is None else received_us
            applied = judge(self.engine, event, received)
            if isinstance(applied, Rejection):
                self._counts.rejected[applied.code] += 1
                refused.append(Refused(source, applied))
                continue
            self._applied.note(source)
            if applied.duplicate and self.engine.is_retired(event.force, event.case_id):
                # A repeat of a retired case's event: its case's deliveries are folded,
                # so the repeat is kept in the partition's one record of such repeats.
                self._applied.late.append(source)
                state.append(
                    Outbound(
                        self._topics.cases_changelog,
                        late_key(self.partition),
                        encode_late(self._applied.late),
                        self.partition,
                    )
                )
                continue
            self._applied.keep(delivery)
            if not applied.duplicate:
                self._counts.events[(event.force, event.event_type)] += 1
            state.append(
                Outbound(
                    self._topics.cases_changelog,
                    case_record_key(delivery),
                    encode_delivery(delivery),
                    self.partition,
                )
            )
            outputs.extend(finding_messages(self._topics, applied.changes))
        return Judged(state, outputs, refused)

    def tick(self, clock_us: int) -> tuple[list[Outbound], list[Outbound]]:
        """Let time pass (the wall clock): deadlines fire with no new events. The findings
        that changed, and, if any did, the partition's tick clock record (state.py)."""
        outputs = finding_messages(self._topics, self.engine.advance(clock_us))
        if not outputs:
            return [], []
        topic, partition = self._topics.cases_changelog, self.partition
        clock = encode_tick_clock(clock_us)
        return outputs, [Outbound(topic, tick_clock_key(partition), clock, partition)]

    def force_counts(self, window_days: int) -> dict[str, ForceCounts]:
        return self.engine.held_force_counts(window_days)
