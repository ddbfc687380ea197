"""Force drill-down: one force's delays, overdue cases, timeliness CUSUM, referral outcomes
and findings over time."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders.common import StackingConfig
from grafana_foundation_sdk.models import common, prometheus

from refmon.ops.grafana.outliers import outlier_stats, outliers_by_state, overdue_list
from refmon.ops.grafana.panels import (
    DATASOURCE,
    base_dashboard,
    cusum_thresholds,
    force_variable,
    query,
    stat_panel,
    thresholds,
    timeseries_panel,
    with_threshold_line,
    z_high_thresholds,
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
        .with_panel(
            stat_panel(
                "Timeliness CUSUM",
                f"force:refmon_force_timeliness_cusum:max{F}",
                "none",
                "Evidence that recent due cases were late more often than the national rate "
                "explains; red at the signal threshold h. No value: fewer than 5 due.",
            )
            .thresholds(cusum_thresholds())
            .decimals(1)
        )
        .with_panel(
            stat_panel(
                "Timeliness signal (last 90 days)",
                f"force:refmon_force_timeliness_signal:max{F}",
                "none",
                "1 while the CUSUM has signalled in the last 90 days (an open deterioration "
                "finding), else 0.",
            ).thresholds(thresholds((None, "green"), (1, "red")))
        )
        .with_panel(
            stat_panel(
                "Volume anomaly",
                f"force:refmon_force_volume_anomaly:max{F}",
                "none",
                "1 while one of the latest three complete months of recorded cases lies outside "
                "the force's own process limits (an open volume_anomaly finding), else 0. "
                "No value: fewer than 9 complete months.",
            ).thresholds(thresholds((None, "green"), (1, "orange")))
        )
        .with_panel(
            stat_panel(
                "Returned share",
                f"force:refmon_force_returned_share_ratio:max{F}",
                "percentunit",
                "Decided referrals in the window that the watchdog sent back or found needed "
                "no investigation.",
            )
        )
        .with_panel(
            stat_panel(
                "Returned share z-score",
                f"force:refmon_force_returned_share_zscore:max{F}",
                "none",
                "Funnel z-score of the returned share: orange above the 95 % limit, red above "
                "99.8 % (possible over-referral). No value: fewer than 5 decided.",
            )
            .thresholds(z_high_thresholds())
            .decimals(2)
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
                "closed without referral, and the force-level deterioration and "
                "volume_anomaly findings.",
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
                "Recorded volume: the force's own limits",
                "The centre (mean of the baseline months) and the process limits (centre "
                "plus or minus 2.66 mean moving ranges, at least 3 Poisson sigmas) of the "
                "force's monthly recorded cases; a month outside them is a data-quality "
                "finding (docs/volume.md).",
                "none",
            ).with_target(
                query(
                    'force_bound:refmon_force_volume_limit_cases:max{force="$force"}',
                    "{{bound}}",
                )
            )
        )
        .with_row(dash.Row("Timeliness over time and referral outcomes"))
        .with_panel(
            with_threshold_line(
                timeseries_panel(
                    "Timeliness CUSUM path",
                    "The force's CUSUM over time: it climbs while due cases are late or overdue "
                    "more often than the national rate and falls towards 0 while they are on "
                    "time. At the dashed line (h) it signals and starts again from 0.",
                    "none",
                ).with_target(query(f"force:refmon_force_timeliness_cusum:max{F}", "CUSUM")),
                cusum_thresholds(),
            )
        )
        .with_panel(
            timeseries_panel(
                "Referral outcomes",
                "The watchdog's latest decision on the force's cases referred in the window.",
                "none",
            )
            .with_target(
                query(f"force_decision:refmon_force_referral_decisions:max{F}", "{{decision}}")
            )
            .stacking(StackingConfig().mode(common.StackingMode.NORMAL))
            .fill_opacity(30)
        )
        .with_panel(
            timeseries_panel(
                "Returned share against its funnel limits",
                "The force's returned share and the funnel's upper limits at its volume: above "
                "them, the watchdog returns more of its referrals than its peers'.",
                "percentunit",
            )
            .with_target(
                query(f"force:refmon_force_returned_share_ratio:max{F}", "returned share", "A")
            )
            .with_target(
                query(
                    'force_bound:refmon_force_returned_share_limit_ratio:max{force="$force",bound=~"upper.*"}',
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
        .with_row(dash.Row("Outliers"))
        .with_panel(outlier_stats("$force")[0])
        .with_panel(outlier_stats("$force")[1])
        .with_panel(overdue_list("$force"))
        .with_panel(outliers_by_state("$force"))
    )
