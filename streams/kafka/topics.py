"""Topic names, layouts and keys.

Each force writes only its own input topic, the watchdog its own; workers
repartition everything by force (same-incident links never cross forces), keep
each case's events in a compacted changelog, and write findings, per-force
alerts and dead letters. Every name starts with a prefix (default `refmon`),
which also names the workers' consumer groups: several deployments can share
one cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from refmon.streams.engine.vocabulary import WATCHDOG_EVENT_TYPES

DEFAULT_PREFIX = "refmon"
WATCHDOG = "watchdog"
CASES_TABLE = "cases"
FORCE_COUNTS_TABLE = "force-counts"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def expected_source(event_type: str, force: str) -> str:
    """Which input topic an event belongs on: the watchdog's types on its own."""
    return WATCHDOG if event_type in WATCHDOG_EVENT_TYPES else force


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkerAccess:
    """What the worker does on Kafka, by exact name: its ACLs are derived from this alone."""

    reads: tuple[str, ...]
    """Topics it consumes (its inputs and its own internal topics)."""
    writes: tuple[str, ...]
    """Topics it produces to (its internal and output topics)."""
    creates: tuple[str, ...]
    """Topics it may ask to create at runtime: none, `refmon topics create` makes them all."""
    groups: tuple[str, ...]
    """Its consumer group ids."""


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ValueError(
                f"topic prefix {self.prefix!r}: lower-case letters, digits and -, up to 31"
            )

    @property
    def app_id(self) -> str:
        """The judging workers' consumer group (by-force partitions): the prefix itself."""
        return self.prefix

    @property
    def transactional_prefix(self) -> str:
        """What the worker's transactional ids start with (one per input partition)."""
        return f"{self.prefix}.tx."

    @property
    def intake_group(self) -> str:
        """The consumer group that validates and forwards the input topics."""
        return f"{self.prefix}-intake"

    def input(self, source: str) -> str:
        """`source` is a force code or WATCHDOG."""
        return f"{self.prefix}.in.{source}"

    def alerts(self, force: str) -> str:
        return f"{self.prefix}.alerts.{force}"

    @property
    def by_force(self) -> str:
        return f"{self.prefix}.by-force"

    @property
    def findings(self) -> str:
        return f"{self.prefix}.findings"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead-letter"

    @property
    def force_counts_changelog(self) -> str:
        """Compacted: each force's latest counts, published by whichever worker holds it."""
        return f"{self.app_id}-{FORCE_COUNTS_TABLE}-changelog"

    @property
    def watchdog_ids(self) -> str:
        """Compacted: each watchdog event id's content fingerprint, read by whoever holds
        the watchdog's input (its ids are one namespace across forces)."""
        return f"{self.prefix}-watchdog-ids"

    @property
    def cases_changelog(self) -> str:
        """Compacted: one record per event delivered to each case (the name the Faust
        worker of earlier releases gave its table's changelog, which is still read)."""
        return f"{self.app_id}-{CASES_TABLE}-changelog"

    def worker_access(self, forces: Iterable[str]) -> WorkerAccess:
        """What the worker reads, writes, creates and which groups it joins.

        The one place to change when the worker changes: `refmon topics acl`
        grants the worker exactly this (streams/kafka/acls.py), and a unit test
        checks that `specs` creates every topic named here.
        """
        forces = list(forces)
        inputs = tuple(self.input(s) for s in [*forces, WATCHDOG])
        internal = (
            self.by_force,
            self.cases_changelog,
            self.force_counts_changelog,
            self.watchdog_ids,
        )
        outputs = (self.findings, self.dead_letter, *(self.alerts(f) for f in forces))
        return WorkerAccess(
            # `refmon report` runs as the worker: it reads the changelog and dead letters back.
            reads=(*inputs, *internal, *outputs),
            writes=(*internal, *outputs),
            creates=(),
            groups=(self.app_id, self.intake_group),
        )

    def source_of(self, topic: str) -> str | None:
        """The force code (or WATCHDOG) whose input topic this is."""
        head = f"{self.prefix}.in."
        return topic[len(head) :] if topic.startswith(head) else None

    def specs(self, forces: Iterable[str], partitions: int = 6) -> list[TopicSpec]:
        """Every topic refmon uses. Inputs keep 400 days of history for replays."""
        forces = list(forces)
        keep = {"retention.ms": str(400 * DAY_MS)}
        # The broker stamps each input message with its arrival: the time the
        # future-timestamp rule measures against, the same on every redelivery.
        arrival = {**keep, "message.timestamp.type": "LogAppendTime"}
        compacted = {"cleanup.policy": "compact"}
        # The case changelog is rewritten as cases retire (a folded record, and deletions
        # of their deliveries): compaction must actually run for a restore to read live
        # cases only. Kafka cleans only closed segments, so close one every hour (the
        # default, a week, or 1 GiB, would keep years of deliveries in the active one);
        # clean once a tenth is dirty; drop deletions a day after cleaning (a restore
        # reading from the start within that day still sees them).
        changelog = {
            **compacted,
            "segment.ms": str(HOUR_MS),
            "min.cleanable.dirty.ratio": "0.1",
            "delete.retention.ms": str(DAY_MS),
        }
        short = {"retention.ms": str(90 * DAY_MS)}
        topics = [TopicSpec(self.input(f), 1, arrival) for f in [*forces, WATCHDOG]]
        topics += [
            TopicSpec(self.by_force, partitions, keep),
            # Partitioned as the by-force topic: partition p holds partition p's cases.
            TopicSpec(self.cases_changelog, partitions, changelog),
            TopicSpec(self.force_counts_changelog, 1, compacted),
            TopicSpec(self.watchdog_ids, 1, compacted),
            TopicSpec(self.findings, partitions, compacted),
            TopicSpec(self.dead_letter, 1, short),
        ]
        topics += [TopicSpec(self.alerts(f), 1, short) for f in forces]
        return topics
