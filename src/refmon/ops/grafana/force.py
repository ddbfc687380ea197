"""Force drill-down: one force's delays, overdue cases and findings over time."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders.common import StackingConfig
from grafana_foundation_sdk.models import common, prometheus

from refmon.ops.grafana.panels import (
    DATASOURCE,
    base_dashboard,
    force_variable,
    query,
    stat_panel,
    thresholds,
    timeseries_panel,
    z_thresholds,
)

UID = "refmon-force"
F = '{force="$force"}'
DELAYS = f"force_le:refmon_force_referral_delay_seconds_bucket:max{F}"


def delay_buckets() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("Referral delays now")
        .description(
            "How many of the force's referred mandatory cases (duty in the window) were "
            "referred within each delay. The deadline is 24 to 48 hours after the duty."
        )
        .datasource(DATASOURCE)
        .with_target(query(DELAYS, "{{le}}").instant().format(prometheus.PromQueryFormat.HEATMAP))
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .orientation(common.VizOrientation.HORIZONTAL)
        .unit("none")
        .height(8)
        .span(12)
    )


def force_dashboard() -> dash.Dashboard:
    return (
        base_dashboard(
            "refmon: force drill-down",
            UID,
            "One force: referral delays, overdue cases and findings over time.",
        )
        .with_variable(force_variable())
        .with_row(dash.Row("$force"))
        .with_panel(
            stat_panel(
                "Compliance",
                f"force:refmon_force_compliance_ratio:max{F}",
                "percentunit",
                "On-time referrals over due mandatory cases in the window.",
            )
        )
        .with_panel(
            stat_panel(
                "Compliance z-score",
                f"force:refmon_force_compliance_zscore:min{F}",
                "none",
                "Funnel z-score: orange below the 95 % limit, red below 99.8 %. "
                "No value: fewer than 5 due.",
            )
            .thresholds(z_thresholds())
            .decimals(2)
        )
        .with_panel(
            stat_panel(
                "Mandatory share z-score",
                f"force:refmon_force_mandatory_share_zscore:min{F}",
                "none",
                "Funnel z-score of mandatory over recorded cases: low means possible "
                "under-categorising.",
            )
            .thresholds(z_thresholds())
            .decimals(2)
        )
        .with_panel(
            stat_panel(
                "Time since the last event",
                f"time() - max(refmon_force_last_event_timestamp_seconds{F})",
                "s",
                "Wall-clock time since the event time of the force's latest event.",
            ).thresholds(thresholds((None, "green"), (2 * 86400, "red")))
        )
        .with_row(dash.Row("Referrals"))
        .with_panel(
            timeseries_panel(
                "Referral delay",
                "Median and 90th percentile of duty-to-referral delay, referred mandatory "
                "cases with duty in the window.",
                "s",
            )
            .with_target(query(f"histogram_quantile(0.5, {DELAYS})", "median", "A"))
            .with_target(query(f"histogram_quantile(0.9, {DELAYS})", "90th percentile", "B"))
        )
        .with_panel(delay_buckets())
        .with_panel(
            timeseries_panel(
                "Mandatory cases by state",
                "Mandatory cases whose duty arose in the window: pending (deadline ahead), "
                "on time, late, and overdue (deadline passed, no referral).",
                "none",
            )
            .with_target(query(f"force_state:refmon_force_mandatory_cases:max{F}", "{{state}}"))
            .stacking(StackingConfig().mode(common.StackingMode.NORMAL))
            .fill_opacity(30)
        )
        .with_panel(
            timeseries_panel(
                "Open findings by kind",
                "Findings open now: missed and late referrals, unconfirmed referrals, "
                "closed without referral.",
                "none",
            ).with_target(query(f"force_kind:refmon_findings_open:sum{F}", "{{kind}}"))
        )
        .with_panel(
            timeseries_panel(
                "Compliance against its funnel limits",
                "The force's compliance and the funnel's lower limits at its volume.",
                "percentunit",
            )
            .with_target(query(f"force:refmon_force_compliance_ratio:max{F}", "compliance", "A"))
            .with_target(
                query(
                    'force_bound:refmon_force_compliance_limit_ratio:max{force="$force",bound=~"lower.*"}',
                    "{{bound}}",
                    "B",
                )
            )
        )
        .with_panel(
            timeseries_panel(
                "Events received",
                "Valid events applied per second, by type.",
                "ops",
            ).with_target(
                query(
                    f"sum by (event_type) (rate(refmon_events_total{F}[$__rate_interval]))",
                    "{{event_type}}",
                )
            )
        )
    )
