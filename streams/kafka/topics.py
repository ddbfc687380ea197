"""Topic names, layouts and keys.

Each force writes only its own input topic, the watchdog its own; workers
repartition everything by force (same-incident links never cross forces), keep
case state in a table, and write findings, per-force alerts and dead letters.
Every name starts with a prefix (default `refmon`), which is also the Faust app
id and so the consumer group: several deployments can share one cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_PREFIX = "refmon"
WATCHDOG = "watchdog"
WATCHDOG_EVENT_TYPES = frozenset({"referral.received", "referral.decision"})
CASES_TABLE = "cases"
FORCE_COUNTS_TABLE = "force-counts"
DAY_MS = 86_400_000
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
    """Topics it may ask to create at runtime. `refmon topics create` makes them all
    first, so the broker only ever answers that they exist; empty once the worker
    stops declaring topics."""
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
        return self.prefix

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
    def cases_changelog(self) -> str:
        """Faust's own name for the table's changelog."""
        return f"{self.app_id}-{CASES_TABLE}-changelog"

    @property
    def leader(self) -> str:
        """Faust's leader-election topic (Faust's own name for it)."""
        return f"{self.app_id}-__assignor-__leader"

    def worker_access(self, forces: Iterable[str]) -> WorkerAccess:
        """What the worker reads, writes, creates and which groups it joins.

        The one place to change when the worker changes: `refmon topics acl`
        grants the worker exactly this (streams/kafka/acls.py), and a unit test
        checks that `specs` creates every topic named here.
        """
        forces = list(forces)
        inputs = tuple(self.input(s) for s in [*forces, WATCHDOG])
        internal = (self.by_force, self.cases_changelog, self.force_counts_changelog, self.leader)
        outputs = (self.findings, self.dead_letter, *(self.alerts(f) for f in forces))
        return WorkerAccess(
            # `refmon report` runs as the worker: it reads the changelog and dead letters back.
            reads=(*inputs, *internal, *outputs),
            writes=(*internal, *outputs),
            # Faust declares its internal topics on every start, and fails unless
            # the broker answers "exists" (which needs CREATE on the name).
            creates=(self.leader, self.cases_changelog),
            groups=(self.app_id,),
        )

    def source_of(self, topic: str) -> str | None:
        """The force code (or WATCHDOG) whose input topic this is."""
        head = f"{self.prefix}.in."
        return topic[len(head) :] if topic.startswith(head) else None

    def specs(self, forces: Iterable[str], partitions: int = 6) -> list[TopicSpec]:
        """Every topic refmon uses. Inputs keep 400 days of history for replays."""
        forces = list(forces)
        keep = {"retention.ms": str(400 * DAY_MS)}
        compacted = {"cleanup.policy": "compact"}
        short = {"retention.ms": str(90 * DAY_MS)}
        topics = [TopicSpec(self.input(f), 1, keep) for f in [*forces, WATCHDOG]]
        topics += [
            TopicSpec(self.by_force, partitions, keep),
            # Faust would create the changelog itself; creating it here fixes its layout.
            TopicSpec(self.cases_changelog, partitions, compacted),
            TopicSpec(self.force_counts_changelog, 1, compacted),
            # Created here, like the changelog, so that the worker never creates a topic.
            TopicSpec(self.leader, 1),
            TopicSpec(self.findings, partitions, compacted),
            TopicSpec(self.dead_letter, 1, short),
        ]
        topics += [TopicSpec(self.alerts(f), 1, short) for f in forces]
        return topics
