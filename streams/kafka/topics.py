"""Topic names, layouts and keys.

Each force writes only its own input topic, the watchdog its own; workers
repartition everything by force (same-incident links never cross forces), keep
case state in a table, and write findings, per-force alerts and dead letters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

PREFIX = "refmon"
WATCHDOG = "watchdog"
WATCHDOG_EVENT_TYPES = frozenset({"referral.received", "referral.decision"})
APP_ID = "refmon"
CASES_TABLE = "cases"

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def input_topic(source: str) -> str:
    """`source` is a force code or WATCHDOG."""
    return f"{PREFIX}.in.{source}"


def alerts_topic(force: str) -> str:
    return f"{PREFIX}.alerts.{force}"


BY_FORCE = f"{PREFIX}.by-force"
FINDINGS = f"{PREFIX}.findings"
DEAD_LETTER = f"{PREFIX}.dead-letter"
CASES_CHANGELOG = f"{APP_ID}-{CASES_TABLE}-changelog"


def source_of(topic: str) -> str | None:
    """The force code (or WATCHDOG) whose input topic this is."""
    head = f"{PREFIX}.in."
    return topic[len(head) :] if topic.startswith(head) else None


def expected_source(event_type: str, force: str) -> str:
    """Which input topic an event belongs on: the watchdog's types on its own."""
    return WATCHDOG if event_type in WATCHDOG_EVENT_TYPES else force


def specs(forces: Iterable[str], partitions: int = 6) -> list[TopicSpec]:
    """Every topic refmon uses. Inputs keep a year of history for replays."""
    forces = list(forces)
    keep_year = {"retention.ms": str(400 * DAY_MS)}
    compacted = {"cleanup.policy": "compact"}
    topics = [TopicSpec(input_topic(f), 1, keep_year) for f in forces]
    topics.append(TopicSpec(input_topic(WATCHDOG), 1, keep_year))
    topics += [
        TopicSpec(BY_FORCE, partitions, keep_year),
        # Faust would create the changelog itself; creating it here fixes its layout.
        TopicSpec(CASES_CHANGELOG, partitions, compacted),
        TopicSpec(FINDINGS, partitions, compacted),
        TopicSpec(DEAD_LETTER, 1, {"retention.ms": str(90 * DAY_MS)}),
    ]
    topics += [TopicSpec(alerts_topic(f), 1, {"retention.ms": str(90 * DAY_MS)}) for f in forces]
    return topics
