"""What a worker does with each message, free of Kafka clients so it is tested without a broker.

Two stages, as on the wire. Intake validates each input message against the
contract once, checks it came from the right source at a plausible time, and
forwards the compact engine event by force. Each by-force partition has a
judge: an engine of its own (so partitions move between workers without
touching each other) and, per input source, the highest offset it has applied,
so that a message forwarded or delivered again after a crash changes nothing.

At-least-once delivery is assumed throughout: every step is idempotent, and
the runtime acknowledges input only once what it produced is on the broker.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Set
from dataclasses import dataclass, field
from typing import NamedTuple

from refmon.schemas.events import EventAdapter
from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Engine, Event, Finding, FindingChange, ForceRow, Ruleset
from refmon.streams.engine.deterioration import deterioration_findings
from refmon.streams.engine.engine import source_scope
from refmon.streams.engine.findings import ChangeKind
from refmon.streams.engine.report import ForceCounts
from refmon.streams.judging import judge
from refmon.streams.kafka.state import (
    LATE_DUPLICATES,
    Folded,
    Held,
    encode_folded,
    encode_late,
    replay_order,
)
from refmon.streams.kafka.topics import WATCHDOG, Topics, expected_source
from refmon.streams.time_range import out_of_range
from refmon.streams.wire.dead_letters import DeadLetter, dumps_dead_letter
from refmon.streams.wire.decode import decode
from refmon.streams.wire.delivery import Delivery, Source, encode_delivery
from refmon.streams.wire.encode import finding_json
from refmon.streams.wire.translate import to_engine_event

RESTORE_CHUNK = 2_000
"""Events applied between yields to the event loop while a partition is restored:
a few tens of milliseconds, far inside a heartbeat interval."""


class Outbound(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None = None
    """None: the producer's partitioner chooses by key."""


@dataclass(slots=True)
class Counts:
    """What this worker has done, for its metrics (the engines count duplicates)."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)


def dead_letter(topics: Topics, letter: DeadLetter) -> Outbound:
    """A dead letter as the dead-letter topic's record, keyed by where its input is."""
    return Outbound(topics.dead_letter, letter.key.encode(), dumps_dead_letter(letter).encode())


def case_record_key(delivery: Delivery) -> bytes:
    """One changelog record per delivery: appending an event costs one small write."""
    event = delivery.event
    return f"{event.force}/{event.case_id}@{delivery.source}".encode()


def fingerprint(event: Event) -> str:
    """Stable across processes (unlike hash()): the watchdog's index outlives a worker."""
    body = encode_delivery(Delivery(Source("", 0, 0), event))
    return hashlib.blake2b(body, digest_size=8).hexdigest()


class WatchdogIds:
    """The watchdog's event ids, across every force (CONTRACT.md section 7).

    The watchdog's ids are one namespace, but its events go to each force's
    partition: only intake, which reads the watchdog's one topic partition in
    order, sees them all. It keeps each id's content fingerprint and first
    offset in a compacted topic, so a conflicting reuse is caught whoever
    holds the forces, and the first arrival wins as it does in `refmon run`.
    """

    def __init__(self, topic: str) -> None:
        self._topic = topic
        self._ids: dict[str, tuple[str, int]] = {}

    def load(self, records: Iterable[tuple[bytes, bytes | None]]) -> None:
        for key, value in records:
            if value is not None:
                digest, offset = json.loads(value)
                self._ids[key.decode()] = (digest, offset)

    def check(self, event: Event, offset: int) -> Rejection | Outbound | None:
        """A conflict, the index write for a new id, or None for a repeat of a known one."""
        digest = fingerprint(event)
        known = self._ids.get(event.event_id)
        if known is None:
            self._ids[event.event_id] = (digest, offset)
            value = json.dumps([digest, offset]).encode()
            return Outbound(self._topic, event.event_id.encode(), value)
        if known[0] != digest and known[1] != offset:
            return Rejection(
                "conflicting_duplicate",
                "event_id: already used by the watchdog for an event with other content",
            )
        return None


class Forward(NamedTuple):
    key: bytes
    value: bytes


class Intake:
    """Validate once, check source and time, and forward the compact event by force."""

    def __init__(
        self, adapter: EventAdapter, topics: Topics, watchdog: WatchdogIds, counts: Counts
    ) -> None:
        self._adapter = adapter
        self._topics = topics
        self._watchdog = watchdog
        self._counts = counts

    def take(
        self, topic: str, partition: int, offset: int, received_ms: int, raw: bytes
    ) -> list[Outbound]:
        """What to send for one input message: a forward (and index write), or a dead letter.

        `received_ms` is the message's broker timestamp: the same on every
        redelivery, so the future-timestamp rule decides the same way each time.
        """
        try:
            verdict = self._verdict(topic, partition, offset, received_ms, raw)
        except Exception as err:  # one message must never stall its partition
            verdict = Rejection("internal_error", f"intake failed: {type(err).__name__}")
        if isinstance(verdict, Rejection):
            self._counts.rejected[verdict.code] += 1
            letter = DeadLetter.of_message(topic, partition, offset, verdict, raw)
            return [dead_letter(self._topics, letter)]
        return verdict

    def _verdict(
        self, topic: str, partition: int, offset: int, received_ms: int, raw: bytes
    ) -> Rejection | list[Outbound]:
        decoded = decode(self._adapter, raw)
        if isinstance(decoded, Rejection):
            return decoded
        owner = self._topics.source_of(topic)
        due = expected_source(decoded.event_type, decoded.force)
        if owner != due:
            return Rejection(
                "force_mismatch",
                f"{decoded.event_type} for force {decoded.force} arrived on {topic}; "
                f"it belongs on {self._topics.input(due)}"
                + ("" if due == WATCHDOG else " (a force writes only its own topic)"),
            )
        event = to_engine_event(decoded)
        late = out_of_range("occurred_at", event.occurred_at_us, received_ms * 1000)
        if late is not None:
            return late
        sends: list[Outbound] = []
        if owner == WATCHDOG:
            seen = self._watchdog.check(event, offset)
            if isinstance(seen, Rejection):
                return seen
            if seen is not None:
                sends.append(seen)
        body = encode_delivery(Delivery(Source(owner, partition, offset), event))
        sends.append(Outbound(self._topics.by_force, event.force.encode(), body))
        return sends


class Refused(NamedTuple):
    """A delivery the judge will not apply; the runtime fetches its input for the dead letter."""

    source: Source
    rejection: Rejection


class Judged(NamedTuple):
    state: list[Outbound]
    """Changelog records: sent after the outputs, so a crash repeats an alert, never loses one."""
    outputs: list[Outbound]
    refused: list[Refused]


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
        self._held: dict[tuple[str, str], list[Delivery]] = {}
        self._late: list[Source] = []
        self._sources = sources
        """Every input source that sends this partition events: its forces and the watchdog."""
        # Per input source, the latest event time it has sent this partition.
        self._source_times: dict[str, int] = {}

    def restore(self, stored: Held) -> Iterator[int]:
        """Apply a changelog's contents, retired cases first, then deliveries in event-time
        order; yields every RESTORE_CHUNK events.

        Nothing is sent while restoring: these changes were sent when first made.
        """
        for folded in stored.folded:
            self.engine.absorb(folded.retired, folded.ids, folded.valid, folded.duplicate)
            for source in folded.sources:
                self._note(source)
        self._late = list(stored.late)
        self.engine.duplicate += len(self._late)
        for source in self._late:
            self._note(source)
        ordered = sorted(stored.deliveries, key=replay_order)
        for n, delivery in enumerate(ordered, 1):
            self._note(delivery.source)
            self._keep(delivery)
            self.engine.apply(delivery.event)
            if n % RESTORE_CHUNK == 0:
                yield n

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
        their folded records, to write first, and the deletions of their deliveries, after.
        A case retires once everything about it is `margin_us` older than the watermark."""
        topic = self._topics.cases_changelog
        folded_records: list[Outbound] = []
        deletions: list[Outbound] = []
        watermark = self.watermark()
        if watermark is None:
            return folded_records, deletions
        for force, case_id in self.engine.retirable(watermark - margin_us):
            retired = self.engine.retire(force, case_id)
            kept = self._held.pop((force, case_id), [])
            ids = tuple(dict.fromkeys((source_scope(d.event), d.event.event_id) for d in kept))
            folded = Folded(
                retired, ids, tuple(d.source for d in kept), len(ids), len(kept) - len(ids)
            )
            folded_records.append(
                Outbound(topic, folded.key, encode_folded(folded), self.partition)
            )
            deletions += [Outbound(topic, case_record_key(d), None, self.partition) for d in kept]
        return folded_records, deletions

    def _keep(self, delivery: Delivery) -> None:
        event = delivery.event
        self._held.setdefault((event.force, event.case_id), []).append(delivery)
        name = delivery.source.name
        if event.occurred_at_us > self._source_times.get(name, event.occurred_at_us - 1):
            self._source_times[name] = event.occurred_at_us

    def open_findings(self) -> list[Outbound]:
        """Every open finding, for the compacted findings topic: repairs a send lost in a crash."""
        return [
            Outbound(self._topics.findings, f.finding_id.encode(), _finding_value(f, "opened"))
            for f in self.engine.findings()
            if f.status == "open"
        ]

    def judge(self, deliveries: Iterable[Delivery]) -> Judged:
        state: list[Outbound] = []
        outputs: list[Outbound] = []
        refused: list[Refused] = []
        for delivery in deliveries:
            source, event = delivery
            if source.offset <= self._applied.get((source.name, source.partition), -1):
                continue  # forwarded or delivered again after a crash: applied already
            # Intake checked the time; the judge's own clock plays no part here.
            applied = judge(self.engine, event, event.occurred_at_us)
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
                        LATE_DUPLICATES,
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


class ForceFindings:
    """The force-level findings (`deterioration`) a worker announces, as they change.

    They follow from the cross-force statistics, which every worker computes
    alike; each worker announces them for the forces it holds, so a change goes
    out once, from the worker whose partition the force is on.
    """

    def __init__(self, ruleset: Ruleset) -> None:
        self._ruleset = ruleset
        self._last: dict[str, Finding] = {}

    def changes(self, rows: Iterable[ForceRow], held: Set[str]) -> list[FindingChange]:
        now = {
            f.finding_id: f
            for f in deterioration_findings(rows, self._ruleset.id, self._ruleset.zone)
            if f.force in held
        }
        found: list[FindingChange] = []
        for key, finding in now.items():
            old = self._last.get(key)
            if old == finding:
                continue
            if old is None:
                kind: ChangeKind = "opened" if finding.status == "open" else "resolved"
            elif finding.status == "resolved":
                kind = "resolved"
            else:
                kind = "reopened" if old.status == "resolved" else "updated"
            found.append(FindingChange(kind, finding))
        for key, old in self._last.items():
            if key not in now and old.status == "open" and old.force in held:
                found.append(FindingChange("resolved", old._replace(status="resolved")))
        self._last = {k: f for k, f in self._last.items() if f.force not in held} | now
        return found


def finding_messages(topics: Topics, changes: Iterable[FindingChange]) -> list[Outbound]:
    """To the findings topic (compacted: the latest state of each) and the force's alerts."""
    sends: list[Outbound] = []
    for change in changes:
        finding = change.finding
        value = _finding_value(finding, change.change)
        key = finding.finding_id.encode()
        sends.append(Outbound(topics.findings, key, value))
        sends.append(Outbound(topics.alerts(finding.force), key, value))
    return sends


def _finding_value(finding: Finding, change: str) -> bytes:
    body = finding_json(finding)
    body["change"] = change
    return json.dumps(body, separators=(",", ":")).encode()
