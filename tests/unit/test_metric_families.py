"""The metrics, split by family (streams/metrics/), keep every name, type and label set
they had in one module: dashboards, recording rules and alerts name them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from refmon.streams.metrics import RefmonMetrics
from refmon.streams.metrics.outliers import OutlierMetrics
from refmon.streams.metrics.pipeline import PipelineMetrics

FAMILIES = [
    ("refmon_cases_held", "gauge", ()),
    ("refmon_clock_seconds", "gauge", ()),
    ("refmon_consumer_lag_messages", "gauge", ("topic", "partition")),
    ("refmon_cusum_parameter", "gauge", ("measure", "parameter")),
    ("refmon_events", "counter", ("force", "event_type")),
    ("refmon_events_duplicate", "counter", ()),
    ("refmon_events_rejected", "counter", ("reason",)),
    ("refmon_findings_open", "gauge", ("force", "kind")),
    ("refmon_force_compliance_limit_ratio", "gauge", ("force", "bound")),
    ("refmon_force_compliance_ratio", "gauge", ("force",)),
    ("refmon_force_compliance_zscore", "gauge", ("force",)),
    ("refmon_force_last_event_timestamp_seconds", "gauge", ("force",)),
    ("refmon_force_mandatory_cases", "gauge", ("force", "state")),
    ("refmon_force_mandatory_recorded_cases", "gauge", ("force",)),
    ("refmon_force_mandatory_share_limit_ratio", "gauge", ("force", "bound")),
    ("refmon_force_mandatory_share_ratio", "gauge", ("force",)),
    ("refmon_force_mandatory_share_zscore", "gauge", ("force",)),
    ("refmon_force_recorded_cases", "gauge", ("force",)),
    ("refmon_force_referral_decisions", "gauge", ("force", "decision")),
    ("refmon_force_returned_share_limit_ratio", "gauge", ("force", "bound")),
    ("refmon_force_returned_share_ratio", "gauge", ("force",)),
    ("refmon_force_returned_share_zscore", "gauge", ("force",)),
    ("refmon_force_timeliness_cusum", "gauge", ("force",)),
    ("refmon_force_timeliness_last_signal_timestamp_seconds", "gauge", ("force",)),
    ("refmon_force_timeliness_signal", "gauge", ("force",)),
    ("refmon_force_timeliness_signals", "gauge", ("force",)),
    ("refmon_force_volume_anomaly", "gauge", ("force",)),
    ("refmon_force_volume_limit_cases", "gauge", ("force", "bound")),
    ("refmon_funnel_parameter", "gauge", ("measure", "parameter")),
    ("refmon_national_ratio", "gauge", ("measure",)),
    ("refmon_outliers", "gauge", ("force", "measure", "state")),
    ("refmon_outliers_overdue", "gauge", ("force", "owner")),
    ("refmon_partition_restore_seconds", "histogram", ("loop", "source")),
    ("refmon_partition_stalled", "gauge", ("topic", "partition")),
    ("refmon_records_refetched", "counter", ()),
]


def families(registry: CollectorRegistry) -> list[tuple[str, str, tuple[str, ...]]]:
    # The client keeps a metric's name, type and labels only privately.
    return sorted(
        (c._name, c._type, tuple(c._labelnames))  # type: ignore[attr-defined]
        for c in registry._collector_to_names
        if hasattr(c, "_labelnames")
    )


def test_every_family_keeps_its_name_type_and_labels() -> None:
    registry = CollectorRegistry()
    RefmonMetrics(registry)
    assert families(registry) == FAMILIES


def test_the_delay_histogram_is_exposed_with_its_own_name() -> None:
    registry = CollectorRegistry()
    RefmonMetrics(registry)
    names = {family.name for family in registry.collect()}
    assert "refmon_force_referral_delay_seconds" in names


def test_each_family_module_registers_only_its_own_metrics() -> None:
    outliers, pipeline = CollectorRegistry(), CollectorRegistry()
    OutlierMetrics(outliers)
    PipelineMetrics(pipeline)
    assert [f[0] for f in families(outliers)] == ["refmon_outliers", "refmon_outliers_overdue"]
    assert [f[0] for f in families(pipeline)] == [
        "refmon_consumer_lag_messages",
        "refmon_partition_restore_seconds",
        "refmon_partition_stalled",
        "refmon_records_refetched",
    ]
