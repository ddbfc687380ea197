"""Prometheus metrics shared by the embedded runner and the Kafka worker.

Labels are forces, event types, reasons and finding kinds: small closed sets.
Never a case id or an event id.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import cast

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as PromCounter
from prometheus_client import utils as _client_utils
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from refmon.streams.engine import Engine, ForceRow
from refmon.streams.engine.delays import DelayHistogram
from refmon.streams.engine.funnel import Limits
from refmon.streams.engine.outlier_model import AWAITS, MEASURES, Outlier, OutlierState
from refmon.streams.engine.report import National
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
        self.mandatory_cases = Gauge(
            "refmon_force_mandatory_cases",
            "Mandatory cases whose duty arose in the window, by state.",
            ["force", "state"],
            registry=registry,
        )
        self.recorded_cases = Gauge(
            "refmon_force_recorded_cases",
            "Cases recorded in the window (the mandatory share's denominator).",
            ["force"],
            registry=registry,
        )
        self.mandatory_recorded = Gauge(
            "refmon_force_mandatory_recorded_cases",
            "Cases recorded in the window that are mandatory (the share's numerator).",
            ["force"],
            registry=registry,
        )
        self.compliance_limit = Gauge(
            "refmon_force_compliance_limit_ratio",
            "Funnel control limit of compliance at the force's volume.",
            ["force", "bound"],
            registry=registry,
        )
        self.share_limit = Gauge(
            "refmon_force_mandatory_share_limit_ratio",
            "Funnel control limit of the mandatory share at the force's volume.",
            ["force", "bound"],
            registry=registry,
        )
        self.returned_share = Gauge(
            "refmon_force_returned_share_ratio",
            "Decided referrals in the window that the watchdog returned or found needed no "
            "investigation.",
            ["force"],
            registry=registry,
        )
        self.returned_share_z = Gauge(
            "refmon_force_returned_share_zscore",
            "Over-dispersion-adjusted funnel z-score of the returned share (high is flagged).",
            ["force"],
            registry=registry,
        )
        self.returned_share_limit = Gauge(
            "refmon_force_returned_share_limit_ratio",
            "Funnel control limit of the returned share at the force's volume.",
            ["force", "bound"],
            registry=registry,
        )
        self.decisions = Gauge(
            "refmon_force_referral_decisions",
            "Cases referred in the window with a decision, by the watchdog's latest decision.",
            ["force", "decision"],
            registry=registry,
        )
        self.cusum = Gauge(
            "refmon_force_timeliness_cusum",
            "The force's timeliness CUSUM after its latest due case (signals at h).",
            ["force"],
            registry=registry,
        )
        self.cusum_signals = Gauge(
            "refmon_force_timeliness_signals",
            "Timeliness CUSUM signals in the window.",
            ["force"],
            registry=registry,
        )
        self.cusum_signal = Gauge(
            "refmon_force_timeliness_signal",
            "1 while the force's timeliness status is signal (a signal in the last 90 days), "
            "else 0.",
            ["force"],
            registry=registry,
        )
        self.cusum_signalled = Gauge(
            "refmon_force_timeliness_last_signal_timestamp_seconds",
            "Deadline of the force's latest timeliness CUSUM signal in the window.",
            ["force"],
            registry=registry,
        )
        self.volume_anomaly = Gauge(
            "refmon_force_volume_anomaly",
            "1 while one of the force's latest three complete months of recorded cases lies "
            "outside its own process limits (docs/volume.md), else 0; absent without a baseline.",
            ["force"],
            registry=registry,
        )
        self.volume_limit = Gauge(
            "refmon_force_volume_limit_cases",
            "The force's monthly recorded cases: its baseline centre and process limits.",
            ["force", "bound"],
            registry=registry,
        )
        self.cusum_parameter = Gauge(
            "refmon_cusum_parameter",
            "Parameters of the timeliness CUSUM: p0 (national late share), p1 and h.",
            ["measure", "parameter"],
            registry=registry,
        )
        self.national = Gauge(
            "refmon_national_ratio",
            "National proportions over all forces: compliance, mandatory share, returned share.",
            ["measure"],
            registry=registry,
        )
        self.funnel = Gauge(
            "refmon_funnel_parameter",
            "Funnel parameters per measure: target p0, over-dispersion phi, tau2.",
            ["measure", "parameter"],
            registry=registry,
        )
        self.last_event = Gauge(
            "refmon_force_last_event_timestamp_seconds",
            "Event time of the latest event seen from each force.",
            ["force"],
            registry=registry,
        )
        self.delays = ReferralDelayCollector()
        registry.register(self.delays)
        self.consumer_lag = Gauge(
            "refmon_consumer_lag_messages",
            "Messages on a consumed partition not yet processed by this worker (Kafka only).",
            ["topic", "partition"],
            registry=registry,
        )
        self.stalled = Gauge(
            "refmon_partition_stalled",
            "1 while a consumed partition has lag and its position has not moved (Kafka only).",
            ["topic", "partition"],
            registry=registry,
        )
        self.outliers = Gauge(
            "refmon_outliers",
            "Outliers (docs/contract.md section 14), by force, measure and state; closed ones "
            "included.",
            ["force", "measure", "state"],
            registry=registry,
        )
        self.outliers_overdue = Gauge(
            "refmon_outliers_overdue",
            "Open outliers past the deadline of the action they await, by force and by who owes "
            "it (watchdog or force).",
            ["force", "owner"],
            registry=registry,
        )
        self.refetched = PromCounter(
            "refmon_records_refetched",
            "Records the consumer skipped, fetched again and judged in order (Kafka only).",
            registry=registry,
        )
        self._synced: dict[object, float] = {}
        self._lag_labels: set[tuple[str, str]] = set()
        self._stalled_labels: set[tuple[str, str]] = set()

    def _add(self, counter: PromCounter, key: object, total: float, *labels: str) -> None:
        """Bring a counter up to a running total kept by the caller."""
        delta = total - self._synced.get(key, 0)
        if delta > 0:
            (counter.labels(*labels) if labels else counter).inc(delta)
            self._synced[key] = total

    def sync_activity(self, activity: Activity) -> None:
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

    def sync_statistics(
        self,
        rows: Iterable[ForceRow],
        national: National,
        delays: Mapping[str, DelayHistogram],
        outliers: Iterable[Outlier] = (),
    ) -> None:
        """The slow half: the cross-force view, the referral delays and the outliers, every
        few seconds."""
        rows = tuple(rows)
        self.sync_rows(rows, national)
        self.sync_delays(delays)
        self.sync_outliers(outliers, [row.force for row in rows])

    def sync_outliers(self, outliers: Iterable[Outlier], forces: Iterable[str]) -> None:
        """Outliers counted by force, measure and state, and the overdue ones by force and
        owner: counts only, never an outlier id (section 14). Every combination of a force
        with a row is set, to 0 when it has none, so an alert clears when its count does."""
        counts, overdue = outlier_counts(outliers)
        for force in dict.fromkeys([*forces, *(f for f, _, _ in counts)]):
            for measure in MEASURES:
                for state in STATES:
                    self.outliers.labels(force, measure, state).set(counts[(force, measure, state)])
            for owner in OWNERS:
                self.outliers_overdue.labels(force, owner).set(overdue[(force, owner)])

    def sync_delays(self, histograms: Mapping[str, DelayHistogram]) -> None:
        self.delays.histograms = dict(histograms)

    def sync_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Set each assigned partition's lag; partitions no longer assigned disappear."""
        wanted = {(topic, str(partition)): lag for (topic, partition), lag in lags.items()}
        for labels in set(self._lag_labels) - set(wanted):
            with contextlib.suppress(KeyError):
                self.consumer_lag.remove(*labels)
        for labels, lag in wanted.items():
            self.consumer_lag.labels(*labels).set(lag)
        self._lag_labels = set(wanted)

    def sync_stalled(self, stalled: Iterable[tuple[str, int]]) -> None:
        """1 for each stalled partition, 0 for the others this worker has marked before."""
        now = {(topic, str(partition)) for topic, partition in stalled}
        for labels in self._stalled_labels | now:
            self.stalled.labels(*labels).set(1 if labels in now else 0)
        self._stalled_labels |= now

    def sync_rows(self, rows: Iterable[ForceRow], national: National) -> None:
        for row in rows:
            f, c = row.force, row.counts
            _set_or_clear(self.compliance, f, row.compliance)
            _set_or_clear(self.compliance_z, f, row.compliance_z)
            _set_or_clear(self.share, f, row.mandatory_share)
            _set_or_clear(self.share_z, f, row.mandatory_share_z)
            for state, count in (
                ("pending", c.pending),
                ("on_time", c.on_time),
                ("late", c.late),
                ("overdue", c.overdue),
            ):
                self.mandatory_cases.labels(f, state).set(count)
            self.recorded_cases.labels(f).set(c.recorded)
            self.mandatory_recorded.labels(f).set(c.mandatory)
            _set_limits(self.compliance_limit, f, row.compliance_limits)
            _set_limits(self.share_limit, f, row.mandatory_share_limits)
            self._sync_outcomes(row)
            self._sync_timeliness(row)
            self._sync_volume(row)
        for measure, ratio in (
            ("compliance", national.compliance),
            ("mandatory_share", national.mandatory_share),
            ("returned_share", national.returned_share),
        ):
            _set_or_clear(self.national, measure, ratio)
        for parameter, number in (
            ("p0", national.timeliness_p0),
            ("p1", national.timeliness_p1),
            ("h", national.timeliness_h),
        ):
            if number is not None:
                self.cusum_parameter.labels("timeliness", parameter).set(number)
        for measure, target, phi, tau2 in (
            (
                "compliance",
                national.compliance_target,
                national.compliance_phi,
                national.compliance_tau2,
            ),
            (
                "mandatory_share",
                national.mandatory_share_target,
                national.mandatory_share_phi,
                national.mandatory_share_tau2,
            ),
            (
                "returned_share",
                national.returned_share_target,
                national.returned_share_phi,
                national.returned_share_tau2,
            ),
        ):
            for parameter, number in (("target", target), ("phi", phi), ("tau2", tau2)):
                if number is not None:
                    self.funnel.labels(measure, parameter).set(number)

    def _sync_outcomes(self, row: ForceRow) -> None:
        f = row.force
        _set_or_clear(self.returned_share, f, row.returned_share)
        _set_or_clear(self.returned_share_z, f, row.returned_share_z)
        _set_limits(self.returned_share_limit, f, row.returned_share_limits)
        for decision, count in row.counts.decisions.items():
            self.decisions.labels(f, decision).set(count)

    def _sync_timeliness(self, row: ForceRow) -> None:
        f = row.force
        charted = row.timeliness_status != "insufficient_data"
        _set_or_clear(self.cusum, f, row.timeliness_cusum)
        _set_or_clear(self.cusum_signals, f, row.timeliness_signals)
        _set_or_clear(
            self.cusum_signal, f, (row.timeliness_status == "signal") if charted else None
        )
        at = row.timeliness_signalled_at
        _set_or_clear(self.cusum_signalled, f, None if at is None else at / 1_000_000)
        # A force-level finding: every worker exports every force's row, so the
        # recording rule keeps one value per force for this kind (rules.yml).
        self.findings_open.labels(f, "deterioration").set(row.open_findings["deterioration"])

    def _sync_volume(self, row: ForceRow) -> None:
        f, judged = row.force, row.volume
        charted = judged.status != "insufficient_data"
        _set_or_clear(self.volume_anomaly, f, (judged.status == "anomaly") if charted else None)
        for bound in ("centre", "lower", "upper"):
            value = getattr(judged, bound)
            if value is None:
                with contextlib.suppress(KeyError):
                    self.volume_limit.remove(f, bound)
            else:
                self.volume_limit.labels(f, bound).set(value)
        # A force-level finding, like `deterioration`: one value per force (rules.yml).
        self.findings_open.labels(f, "volume_anomaly").set(row.open_findings["volume_anomaly"])


# The client's own formatting of `le`, so these buckets read like its Histogram's.
_float_to_go_string = cast(Callable[[float], str], _client_utils.floatToGoString)


STATES: tuple[OutlierState, ...] = (*AWAITS, "closed")
OWNERS = ("watchdog", "force")


def outlier_counts(
    outliers: Iterable[Outlier],
) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str]]]:
    """(force, measure, state) -> outliers, and (force, owner) -> overdue open ones."""
    counts: Counter[tuple[str, str, str]] = Counter()
    overdue: Counter[tuple[str, str]] = Counter()
    for o in outliers:
        counts[(o.force, o.measure, o.state)] += 1
        if o.overdue and o.owner is not None:
            overdue[(o.force, o.owner)] += 1
    return counts, overdue


class ReferralDelayCollector(Collector):
    """Exposes the latest referral-delay snapshot as a histogram per force.

    The main thread swaps in a whole new dict; the HTTP thread only reads the
    reference, so a scrape never sees half an update.
    """

    def __init__(self) -> None:
        self.histograms: dict[str, DelayHistogram] = {}

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(
            "refmon_force_referral_delay_seconds",
            "Duty-to-referral delay of referred mandatory cases whose duty arose in the window.",
            labels=["force"],
        )
        for force, histogram in sorted(self.histograms.items()):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(
                (*(b / 1_000_000 for b in histogram.bounds_us), float("inf")),
                histogram.counts,
                strict=True,
            ):
                cumulative += count
                buckets.append((_float_to_go_string(bound), cumulative))
            family.add_metric([force], buckets, histogram.sum_us / 1_000_000)
        yield family


def _set_limits(gauge: Gauge, force: str, limits: Limits | None) -> None:
    for bound in ("lower_998", "lower_95", "upper_95", "upper_998"):
        if limits is None:
            with contextlib.suppress(KeyError):
                gauge.remove(force, bound)
        else:
            gauge.labels(force, bound).set(getattr(limits, bound))


def _set_or_clear(gauge: Gauge, label: str, value: float | None) -> None:
    # Too little data means no value: absent, not zero, so no alert misfires.
    if value is None:
        with contextlib.suppress(KeyError):
            gauge.remove(label)
    else:
        gauge.labels(label).set(value)
