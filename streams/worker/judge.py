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
from refmon.streams.engine.engine import source_scope
from refmon.streams.engine.report import ForceCounts
from refmon.streams.judging import judge
from refmon.streams.kafka.state import (
    ARCHIVE_BYTES,
    ARCHIVE_CASES,
    ArchiveHead,
    ArchiveRecord,
    Folded,
    Held,
    archive_key,
    encode_case,
    encode_late,
    late_key,
    replay,
)
from refmon.streams.kafka.topics import Topics
from refmon.streams.wire.delivery import Delivery, Source, encode_delivery
from refmon.streams.worker.messages import (
    Counts,
    Outbound,
    case_record_key,
    finding_messages,
    finding_value,
    record_key,
)

RESTORE_CHUNK = 2_000
"""Events applied between yields to the event loop while a partition is restored:
a few tens of milliseconds, far inside a heartbeat interval."""


class Refused(NamedTuple):
    """A delivery the judge will not apply; the runtime fetches its input for the dead letter."""

    source: Source
    rejection: Rejection


Kept = tuple[str, str, str, int, int]
"""What a judge keeps of a live delivery until its case retires: the event's scope and id,
and its source's name, partition and offset. Plain tuples of five: a national year holds
hundreds of thousands, and a snapshot (snapshot.py) writes them all."""


class Judged(NamedTuple):
    state: list[Outbound]
    """Changelog records: sent after the outputs, so a crash repeats an alert, never loses one."""
    outputs: list[Outbound]
    refused: list[Refused]


class JudgeState(NamedTuple):
    """Everything a judge holds but its wiring: what a snapshot of it keeps (snapshot.py)."""

    engine: Engine
    applied: dict[tuple[str, int], int]
    held: dict[tuple[str, str], list[Kept]]
    late: list[Source]
    source_times: dict[str, int]
    archive_number: int
    archive_head: ArchiveHead
    archive_cases: list[bytes]
    archive_bytes: int


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
        self._applied: dict[tuple[str, int], int] = {}
        self._held: dict[tuple[str, str], list[Kept]] = {}
        self._late: list[Source] = []
        self._sources = sources
        """Every input source that sends this partition events: its forces and the watchdog."""
        # Per input source, the latest event time it has sent this partition.
        self._source_times: dict[str, int] = {}
        # The archive record retired cases go into now, and its cases so far: it is
        # rewritten whole as cases join it, and the next one opens when it is full.
        self._archive_number = 0
        self._archive_head = ArchiveHead()
        self._archive_cases: list[bytes] = []
        self._archive_bytes = 0
        self._singles: tuple[tuple[bytes, Folded | None], ...] = ()
        self.last_retired = 0
        """How many cases the last `retire` folded (for the log)."""

    def restore(self, stored: Held) -> Iterator[int]:
        """Apply a changelog's contents, retired cases first, then deliveries in event-time
        order; yields every RESTORE_CHUNK events.

        Nothing is sent while restoring: these changes were sent when first made.
        """
        self._late = list(stored.late)
        self._singles = stored.single
        if stored.archive:
            self.reopen_archive(stored.archive[-1])
        return replay(self.engine, stored, RESTORE_CHUNK, self._note, self._replayed)

    def reopen_archive(self, last: ArchiveRecord) -> None:
        """The changelog's last archive record is the one retired cases join next."""
        self._archive_number = last.number
        self._archive_cases = last.encoded()
        self._archive_bytes = sum(map(len, self._archive_cases))
        # Written again in today's format as cases join it.
        self._archive_head = ArchiveHead()
        for folded in last.folded():
            self._archive_head.add(folded)

    def state(self) -> JudgeState | None:
        """What a snapshot keeps; None while an earlier release's records wait to be moved
        into the archive (a restore does that before anything else)."""
        if self._singles:
            return None
        return JudgeState(
            self.engine,
            self._applied,
            self._held,
            self._late,
            self._source_times,
            self._archive_number,
            self._archive_head,
            self._archive_cases,
            self._archive_bytes,
        )

    def resume(self, state: JudgeState) -> None:
        """Take up a snapshot's state, in place of a restore's replay (a new judge only)."""
        self.engine = state.engine
        self._applied = state.applied
        self._held = state.held
        self._late = state.late
        self._source_times = state.source_times
        self._archive_number = state.archive_number
        self._archive_head = state.archive_head
        self._archive_cases = state.archive_cases
        self._archive_bytes = state.archive_bytes

    def catch_up(self, delivery: Delivery) -> None:
        """Apply a delivery its changelog holds but the snapshot did not, as a restore does."""
        source = delivery.source
        if source.offset <= self._applied.get((source.name, source.partition), -1):
            return  # in the snapshot already
        self.engine.apply(delivery.event, delivery.received_at_us)
        self._replayed(delivery)

    def catch_up_late(self, late: list[Source]) -> None:
        """The partition's record of late repeats as the changelog holds it now: it only ever
        grows, so what the snapshot lacks is its end."""
        if late[: len(self._late)] != self._late:
            raise ValueError("the changelog's late repeats do not continue the snapshot's")
        added = late[len(self._late) :]
        self.engine.duplicate += len(added)
        for source in added:
            self._note(source)
        self._late = list(late)

    @property
    def sources(self) -> frozenset[str]:
        return self._sources

    def is_live(self, force: str, case_id: str) -> bool:
        return (force, case_id) in self._held

    def watermark(self) -> int | None:
        """The latest event time every source of this partition has reached.

        Retirement measures age against this, not the engine's clock: in a replay
        or a backfill one force's events can be judged years ahead of another's,
        and a case of the force behind is not old merely because the clock is far on.
        A source silent for long (or never heard from) holds retirement back on its
        partition.
        """
        if not self._sources or not self._sources <= self._source_times.keys():
            return None
        return min(self._source_times[s] for s in self._sources)

    def retire(self, margin_us: int) -> tuple[list[Outbound], list[Outbound]]:
        """Fold the cases that can no longer change any output (streams/engine/retirement.py):
        the archive records that now hold them, to write first, and the deletions of their
        deliveries, after. A case retires once everything about it is `margin_us` older
        than the watermark."""
        topic = self._topics.cases_changelog
        deletions: list[Outbound] = []
        watermark = self.watermark()
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
        kept = self._held.pop((force, case_id), [])
        ids = tuple(dict.fromkeys((scope, event_id) for scope, event_id, *_ in kept))
        sources = tuple(Source(name, p, offset) for _, _, name, p, offset in kept)
        return Folded(retired, ids, sources, len(ids), len(kept) - len(ids))

    def archive_singles(self) -> tuple[list[Outbound], list[Outbound]]:
        """An earlier release's records of one retired case each, moved into the archive:
        the archive records, to write first, and the deletions of the single records."""
        singles, self._singles = self._singles, ()
        written = self._archived([f for _, f in singles if f is not None])
        topic = self._topics.cases_changelog
        return written, [Outbound(topic, key, None, self.partition) for key, _ in singles]

    def _archived(self, cases: list[Folded]) -> list[Outbound]:
        """Add retired cases to the open archive record, opening the next when it is full:
        each record written, once, as it stands after them all."""
        written: dict[int, tuple[ArchiveHead, list[bytes]]] = {}
        for case in cases:
            encoded = encode_case(case)
            full = len(self._archive_cases) >= ARCHIVE_CASES
            if self._archive_cases and (full or self._archive_bytes + len(encoded) > ARCHIVE_BYTES):
                self._archive_number += 1
                self._archive_head, self._archive_cases, self._archive_bytes = ArchiveHead(), [], 0
            self._archive_head.add(case)
            self._archive_cases.append(encoded)
            self._archive_bytes += len(encoded)
            written[self._archive_number] = (self._archive_head, self._archive_cases)
        topic = self._topics.cases_changelog
        return [
            Outbound(topic, archive_key(self.partition, number), head.value(chunk), self.partition)
            for number, (head, chunk) in written.items()
        ]

    def _replayed(self, delivery: Delivery) -> None:
        self._note(delivery.source)
        self._keep(delivery)

    def _keep(self, delivery: Delivery) -> None:
        event, (name, partition, offset) = delivery.event, delivery.source
        kept = (source_scope(event), event.event_id, name, partition, offset)
        self._held.setdefault((event.force, event.case_id), []).append(kept)
        if event.occurred_at_us > self._source_times.get(name, event.occurred_at_us - 1):
            self._source_times[name] = event.occurred_at_us

    def open_findings(self) -> list[Outbound]:
        """Every open finding, for the compacted findings topic: repairs a send lost in a crash."""
        return [
            Outbound(self._topics.findings, f.finding_id.encode(), finding_value(f, "opened"))
            for f in self.engine.findings()
            if f.status == "open"
        ]

    def judge(self, deliveries: Iterable[Delivery]) -> Judged:
        state: list[Outbound] = []
        outputs: list[Outbound] = []
        refused: list[Refused] = []
        for delivery in deliveries:
            source, event, received_us = delivery
            if source.offset <= self._applied.get((source.name, source.partition), -1):
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
            self._note(source)
            if applied.duplicate and self.engine.is_retired(event.force, event.case_id):
                # A repeat of a retired case's event: its case's deliveries are folded,
                # so the repeat is kept in the partition's one record of such repeats.
                self._late.append(source)
                state.append(
                    Outbound(
                        self._topics.cases_changelog,
                        late_key(self.partition),
                        encode_late(self._late),
                        self.partition,
                    )
                )
                continue
            self._keep(delivery)
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

    def tick(self, clock_us: int) -> list[Outbound]:
        """Let time pass (the wall clock): deadlines fire with no new events."""
        return finding_messages(self._topics, self.engine.advance(clock_us))

    def force_counts(self, window_days: int) -> dict[str, ForceCounts]:
        return self.engine.held_force_counts(window_days)

    def _note(self, source: Source) -> None:
        key = (source.name, source.partition)
        if source.offset > self._applied.get(key, -1):
            self._applied[key] = source.offset
