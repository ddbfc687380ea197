"""The fast-moving family: what a runner has applied and rejected, its open case
findings, its clock and what it holds. Set after every batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as PromCounter
from refmon.streams.engine import Engine
from refmon.streams.engine.vocabulary import CASE_FINDING_KINDS, FindingKind


@dataclass(frozen=True, slots=True)
class Activity:
    """What a runner has done and what its engines hold, summed over them.

    The embedded runner has one engine; a Kafka worker has one per partition it
    owns. Both build this and hand it to the same `sync_activity`.
    """

    events: Mapping[tuple[str, str], int]
    rejected: Mapping[str, int]
    duplicates: int
    open_findings: Counter[tuple[str, FindingKind]]
    forces: tuple[str, ...]
    clock: int | None
    last_events: Mapping[str, int]
    cases: int

    @classmethod
    def of(
        cls,
        engines: Iterable[Engine],
        events: Mapping[tuple[str, str], int],
        rejected: Mapping[str, int],
        forces: Iterable[str],
    ) -> Activity:
        open_findings: Counter[tuple[str, FindingKind]] = Counter()
        last: dict[str, int] = {}
        duplicates = cases = 0
        clock: int | None = None
        for engine in engines:
            open_findings.update(engine.open_counts())
            for force, at in engine.last_event_times().items():
                last[force] = max(at, last.get(force, at))
            duplicates += engine.duplicate
            cases += engine.case_count()
            if engine.clock is not None:
                clock = engine.clock if clock is None else max(clock, engine.clock)
        return cls(events, rejected, duplicates, open_findings, tuple(forces), clock, last, cases)


class ActivityMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = PromCounter(
            "refmon_events",
            "Distinct valid events applied, by force and event type.",
            ["force", "event_type"],
            registry=registry,
        )
        self.rejected = PromCounter(
            "refmon_events_rejected",
            "Input rejected to the dead letters, by reason.",
            ["reason"],
            registry=registry,
        )
        self.duplicates = PromCounter(
            "refmon_events_duplicate",
            "Valid events ignored because their event_id was seen before.",
            registry=registry,
        )
        self.findings_open = Gauge(
            "refmon_findings_open",
            "Open findings, by force and kind.",
            ["force", "kind"],
            registry=registry,
        )
        self.clock = Gauge(
            "refmon_clock_seconds",
            "The monitor's event-time clock (Unix seconds).",
            registry=registry,
        )
        self.cases = Gauge("refmon_cases_held", "Cases held in state.", registry=registry)
        self.last_event = Gauge(
            "refmon_force_last_event_timestamp_seconds",
            "Event time of the latest event seen from each force.",
            ["force"],
            registry=registry,
        )
        self._synced: dict[object, float] = {}

    def _add(self, counter: PromCounter, key: object, total: float, *labels: str) -> None:
        """Bring a counter up to a running total kept by the caller."""
        delta = total - self._synced.get(key, 0)
        if delta > 0:
            (counter.labels(*labels) if labels else counter).inc(delta)
            self._synced[key] = total

    def sync(self, activity: Activity) -> None:
        """The fast-moving half: counters, open findings, the clock, what is held."""
        for (force, event_type), total in activity.events.items():
            self._add(self.events, ("e", force, event_type), total, force, event_type)
        for reason, total in activity.rejected.items():
            self._add(self.rejected, ("r", reason), total, reason)
        self._add(self.duplicates, "d", activity.duplicates)
        for force in activity.forces:
            for kind in CASE_FINDING_KINDS:
                self.findings_open.labels(force, kind).set(activity.open_findings[(force, kind)])
        if activity.clock is not None:
            self.clock.set(activity.clock / 1_000_000)
        for force, at in activity.last_events.items():
            self.last_event.labels(force).set(at / 1_000_000)
        self.cases.set(activity.cases)
