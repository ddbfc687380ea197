"""The cross-force family (docs/contract.md sections 9, 11 and 12): each force's
funnel measures and limits, its timeliness CUSUM, its volume, and the national
figures. Every Kafka worker sets every force's alike (the recording rules keep one)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Gauge
from refmon.streams.engine import ForceRow
from refmon.streams.engine.funnel import Limits
from refmon.streams.engine.report import National


class StatisticsMetrics:
    def __init__(self, registry: CollectorRegistry, findings_open: Gauge) -> None:
        """`findings_open`: the activity family's gauge, which also carries the force-level
        findings (`deterioration`, `volume_anomaly`) that these rows imply."""
        self.findings_open = findings_open
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

    def sync(self, rows: Iterable[ForceRow], national: National) -> None:
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
