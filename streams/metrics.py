"""Prometheus metrics shared by the embedded runner and the Kafka worker.

Labels are forces, event types, reasons and finding kinds: small closed sets.
Never a case id or an event id.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as PromCounter
from refmon.streams.engine import Engine, ForceRow, Report
from refmon.streams.engine.vocabulary import FINDING_KINDS


class RefmonMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
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
        self.compliance = Gauge(
            "refmon_force_compliance_ratio",
            "On-time referrals over due mandatory cases in the window.",
            ["force"],
            registry=registry,
        )
        self.compliance_z = Gauge(
            "refmon_force_compliance_zscore",
            "Over-dispersion-adjusted funnel z-score of compliance.",
            ["force"],
            registry=registry,
        )
        self.share = Gauge(
            "refmon_force_mandatory_share_ratio",
            "Mandatory cases over cases recorded in the window.",
            ["force"],
            registry=registry,
        )
        self.share_z = Gauge(
            "refmon_force_mandatory_share_zscore",
            "Over-dispersion-adjusted funnel z-score of the mandatory share.",
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

    def sync_counts(
        self,
        events: Mapping[tuple[str, str], int],
        rejected: Mapping[str, int],
        duplicates: int,
        engine: Engine,
    ) -> None:
        for (force, event_type), total in events.items():
            self._add(self.events, ("e", force, event_type), total, force, event_type)
        for reason, total in rejected.items():
            self._add(self.rejected, ("r", reason), total, reason)
        self._add(self.duplicates, "d", duplicates)
        open_now: Counter[tuple[str, str]] = Counter(engine.open_counts())
        for force in engine.forces:
            for kind in FINDING_KINDS:
                self.findings_open.labels(force, kind).set(open_now[(force, kind)])
        if engine.clock is not None:
            self.clock.set(engine.clock / 1_000_000)
        self.cases.set(engine.case_count())

    def sync_report(self, report: Report) -> None:
        self.sync_rows(report.forces)

    def sync_rows(self, rows: Iterable[ForceRow]) -> None:
        for row in rows:
            _set_or_clear(self.compliance, row.force, row.compliance)
            _set_or_clear(self.compliance_z, row.force, row.compliance_z)
            _set_or_clear(self.share, row.force, row.mandatory_share)
            _set_or_clear(self.share_z, row.force, row.mandatory_share_z)


def _set_or_clear(gauge: Gauge, force: str, value: float | None) -> None:
    # A force with too little data has no value: absent, not zero, so no alert misfires.
    if value is None:
        with contextlib.suppress(KeyError):
            gauge.remove(force)
    else:
        gauge.labels(force).set(value)
