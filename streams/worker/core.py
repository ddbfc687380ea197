"""What a worker does with each message, free of Faust so it can be tested without a broker.

The Faust agents only move bytes: they hand messages to these methods and send
what comes back. At-least-once delivery is assumed throughout: every method is
idempotent for a message delivered again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from refmon.schemas.events import EventAdapter
from refmon.schemas.rejections import Rejection
from refmon.streams.decode import DeadLetter, decode
from refmon.streams.encode import finding_json
from refmon.streams.engine import Engine, Event, Finding, FindingChange, ForceRow
from refmon.streams.engine.report import ForceCounts, National, cross_force
from refmon.streams.kafka import state
from refmon.streams.kafka.topics import WATCHDOG, Topics, expected_source
from refmon.streams.wire import to_engine_event


@dataclass(frozen=True, slots=True)
class Forward:
    """A valid event, to be repartitioned by force."""

    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class Outbound:
    topic: str
    key: bytes
    value: bytes


class Prepared(NamedTuple):
    key: str
    source: str
    raw: str
    event: Event


@dataclass(slots=True)
class Counts:
    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0


def source_id(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


class WorkerCore:
    def __init__(
        self, build_engine: Callable[[], Engine], adapter: EventAdapter, topics: Topics
    ) -> None:
        self._build_engine = build_engine
        self.topics = topics
        self.adapter = adapter
        self.engine = build_engine()
        self.counts = Counts()

    # -- intake: validate, check the topic, repartition -------------------------

    def intake(self, topic: str, partition: int, offset: int, raw: bytes) -> Forward | DeadLetter:
        where = {"topic": topic, "partition": partition, "offset": offset}
        decoded = decode(self.adapter, raw)
        if isinstance(decoded, Rejection):
            return self._dead(where, decoded, raw)
        owner = self.topics.source_of(topic)
        due = expected_source(decoded.event_type, decoded.force)
        if owner != due:
            why = Rejection(
                "force_mismatch",
                f"{decoded.event_type} for force {decoded.force} arrived on {topic}; "
                f"it belongs on {self.topics.input(due)}"
                + ("" if due == WATCHDOG else " (a force writes only its own topic)"),
            )
            return self._dead(where, why, raw)
        body = {"source": source_id(topic, partition, offset), "event": raw.decode("utf-8")}
        return Forward(decoded.force.encode(), json.dumps(body, separators=(",", ":")).encode())

    def _dead(self, where: dict[str, object], why: Rejection, raw: bytes) -> DeadLetter:
        self.counts.rejected[why.code] += 1
        return DeadLetter(dict(where), why, raw, len(raw))

    # -- judging: state, engine, findings ---------------------------------------

    def prepare(self, body: bytes) -> Prepared:
        """Read a repartitioned message: its case key tells which table entry it needs."""
        wrapper = json.loads(body)
        event = to_engine_event(self.adapter.validate_json(wrapper["event"]))
        return Prepared(
            state.case_key(event.force, event.case_id), wrapper["source"], wrapper["event"], event
        )

    def judge(
        self, partition: int, prepared: Prepared, entry: state.Entry | None
    ) -> tuple[state.Entry | None, list[Outbound]]:
        """Fold one event in. Returns the entry to store and the messages to send."""
        source, raw, event = prepared.source, prepared.raw, prepared.event
        if self.engine.has_seen(event):
            updated, fresh = state.with_event(entry, event.event_id, None, source, partition)
            if not fresh:
                # The same delivery again. Store the entry anyway: after a crash the
                # local store can hold a write whose changelog copy was never sent,
                # and writing it again is what repairs the changelog.
                return updated, []
            self.engine.duplicate += 1
            self.counts.duplicates += 1
            return updated, []
        updated, _ = state.with_event(entry, event.event_id, raw, source, partition)
        applied = self.engine.apply(event)
        self.counts.events[(event.force, event.event_type)] += 1
        return updated, self.messages(applied.changes)

    def tick(self, clock_us: int) -> list[Outbound]:
        """Let time pass (a wall-clock timer): deadlines fire with no new events."""
        return self.messages(self.engine.advance(clock_us))

    def rebuild(
        self, entries: Iterable[tuple[str, state.Entry]], partitions: set[int]
    ) -> list[Outbound]:
        """A fresh engine from the cases of the partitions this worker now owns.

        Returns every open finding, to send again: the findings topic is compacted
        by finding id, so this repairs any send lost in a crash and costs nothing else.
        """
        mine = {k: e for k, e in entries if e.get("partition", 0) in partitions}
        self.engine = self._build_engine()
        state.rebuild(self.engine, mine, self.adapter)
        opened = [f for f in self.engine.findings() if f.status == "open"]
        return [m for f in opened for m in self._finding_messages(f, "opened")]

    def force_counts(self, window_days: int) -> list[Outbound]:
        """This worker's forces' counts, for the global table every worker reads."""
        topic = self.topics.force_counts_changelog
        return [
            Outbound(topic, json.dumps(force).encode(), json.dumps(asdict(counts)).encode())
            for force, counts in self.engine.held_force_counts(window_days).items()
        ]

    @staticmethod
    def national_rows(
        shared: Iterable[tuple[str, dict[str, int]]], forces: Iterable[str], engine: Engine
    ) -> tuple[tuple[ForceRow, ...], National]:
        """The cross-force statistics from every worker's counts (absent forces count zero)."""
        counts = {force: ForceCounts() for force in forces}
        counts.update((force, ForceCounts(**values)) for force, values in shared if values)
        return cross_force(counts, engine.open_counts())

    def messages(self, changes: Iterable[FindingChange]) -> list[Outbound]:
        return [m for c in changes for m in self._finding_messages(c.finding, c.change)]

    def _finding_messages(self, finding: Finding, change: str) -> list[Outbound]:
        """To the findings topic (compacted: the latest state of each) and the force's alerts."""
        body = finding_json(finding)
        body["change"] = change
        value = json.dumps(body, separators=(",", ":")).encode()
        key = finding.finding_id.encode()
        return [
            Outbound(self.topics.findings, key, value),
            Outbound(self.topics.alerts(finding.force), key, value),
        ]
