"""Pipeline health: is refmon up, keeping up, and accepting what forces send?"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from refmon.ops.grafana.panels import (
    base_dashboard,
    query,
    stat_panel,
    thresholds,
    timeseries_panel,
)

UID = "refmon-pipeline"

KAFKA_ONLY_METRICS = frozenset({"refmon_consumer_lag_messages", "refmon_partition_restore_seconds"})
"""Metrics only `refmon worker` exports; their panels are empty for `refmon run`."""


def pipeline_dashboard() -> dash.Dashboard:
    return (
        base_dashboard(
            "refmon: pipeline health",
            UID,
            "refmon's own health: targets up, throughput, rejections, lag.",
            since="now-6h",
            refresh="30s",
        )
        .with_row(dash.Row("Now"))
        .with_panel(
            stat_panel(
                "Targets up",
                'sum(up{job="refmon"})',
                "none",
                "refmon processes answering Prometheus scrapes.",
            ).thresholds(thresholds((None, "red"), (1, "green")))
        )
        .with_panel(
            stat_panel(
                "Events per second",
                "sum(rate(refmon_events_total[$__rate_interval]))",
                "ops",
                "Distinct valid events applied, all forces.",
            )
        )
        .with_panel(
            stat_panel(
                "Rejected share (15 min)",
                "refmon:events_rejected:ratio_rate15m",
                "percentunit",
                "Share of input sent to the dead letters; the alert fires above 5 %.",
            ).thresholds(thresholds((None, "green"), (0.05, "red")))
        )
        .with_panel(
            stat_panel(
                "Event clock behind wall clock",
                "refmon:clock_lag_seconds:max",
                "s",
                "How far the slowest process's event-time clock is behind now.",
            ).thresholds(thresholds((None, "green"), (3600, "orange")))
        )
        .with_row(dash.Row("Throughput and rejections"))
        .with_panel(
            timeseries_panel(
                "Events by type", "Valid events applied per second.", "ops"
            ).with_target(
                query(
                    "sum by (event_type) (rate(refmon_events_total[$__rate_interval]))",
                    "{{event_type}}",
                )
            )
        )
        .with_panel(
            timeseries_panel(
                "Rejected and duplicate events",
                "Input sent to the dead letters, by reason, and repeats ignored.",
                "ops",
            )
            .with_target(
                query(
                    "sum by (reason) (rate(refmon_events_rejected_total[$__rate_interval]))",
                    "{{reason}}",
                    "A",
                )
            )
            .with_target(
                query(
                    "sum(rate(refmon_events_duplicate_total[$__rate_interval]))",
                    "duplicates",
                    "B",
                )
            )
        )
        .with_row(dash.Row("Lag and state"))
        .with_panel(
            timeseries_panel(
                "Event clock lag by process",
                "Wall-clock time minus each process's event-time clock.",
                "s",
            ).with_target(query("time() - refmon_clock_seconds", "{{instance}}"))
        )
        .with_panel(
            timeseries_panel(
                "Consumer lag (Kafka workers only)",
                "Messages waiting on the partitions each worker holds.",
                "none",
            ).with_target(
                query(
                    "sum by (instance, topic) (refmon_consumer_lag_messages)",
                    "{{instance}} {{topic}}",
                )
            )
        )
        .with_panel(
            timeseries_panel(
                "Partition restores (Kafka workers only)",
                "By-force partitions whose state a worker rebuilt after an assignment, from a "
                "snapshot (seconds) or the whole changelog (minutes, with years held): many "
                "changelog restores mean the snapshots are not being used.",
                "none",
            ).with_target(
                query(
                    "sum by (instance, source) (increase("
                    'refmon_partition_restore_seconds_count{loop="judge"}[$__rate_interval]))',
                    "{{instance}} {{source}}",
                )
            )
        )
        .with_panel(
            timeseries_panel(
                "Time since each force's last event",
                "A force whose line keeps rising has gone silent; the alert fires after 2 days.",
                "s",
            ).with_target(
                query(
                    "time() - max by (force) (refmon_force_last_event_timestamp_seconds)",
                    "{{force}}",
                )
            )
        )
        .with_panel(
            timeseries_panel("Cases held", "Cases in each process's state.", "none").with_target(
                query("refmon_cases_held", "{{instance}}")
            )
        )
    )
