"""National overview: which forces refer less or later, record fewer mandatory cases, or
refer more that the watchdog returns, than their peers."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import piechart, stat, table, timeseries, xychart
from grafana_foundation_sdk.builders.common import (
    ReduceDataOptions,
    TableSortByFieldState,
    VizLegendOptions,
)
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import piechart as pie
from grafana_foundation_sdk.models import xychart as xy

from refmon.ops.grafana.outliers import outlier_stats, outliers_by_state, overdue_list
from refmon.ops.grafana.panels import (
    DATASOURCE,
    Z95,
    base_dashboard,
    cusum_thresholds,
    instant_table,
    join_tables,
    override,
    query,
    stat_panel,
    thresholds,
    timeseries_panel,
    transformation,
    with_overrides,
    with_threshold_line,
    z_high_thresholds,
    z_thresholds,
)

UID = "refmon-national"


def _z_column(high: bool = False) -> list[tuple[str, object]]:
    steps = z_high_thresholds() if high else z_thresholds()
    return [
        ("custom.cellOptions", {"type": "color-background"}),
        ("thresholds", steps.build()),
        ("decimals", 2),
    ]


def force_table() -> table.Panel:
    queries = {
        "A": "force:refmon_force_compliance_ratio:max",
        "B": "force:refmon_force_compliance_zscore:min",
        "C": "force:refmon_force_mandatory_share_ratio:max",
        "D": "force:refmon_force_mandatory_share_zscore:min",
        "E": "force:refmon_force_due_cases:sum",
        "F": "force:refmon_force_recorded_cases:max",
        "G": 'sum by (force) (force_kind:refmon_findings_open:sum{kind="missed_referral"})',
        "H": "force:refmon_force_timeliness_cusum:max",
        "I": "force:refmon_force_returned_share_ratio:max",
        "J": "force:refmon_force_returned_share_zscore:max",
        "K": "force:refmon_force_decided_referrals:sum",
        "L": "force:refmon_force_volume_anomaly:max",
    }
    names = {
        "Value #A": "Compliance",
        "Value #B": "Compliance z",
        "Value #C": "Mandatory share",
        "Value #D": "Mandatory share z",
        "Value #E": "Due",
        "Value #F": "Recorded",
        "Value #G": "Missed referrals open",
        "Value #H": "Timeliness CUSUM",
        "Value #I": "Returned share",
        "Value #J": "Returned share z",
        "Value #K": "Decided",
        "Value #L": "Volume anomaly",
    }
    panel = (
        table.Panel()
        .title("Forces against the funnel")
        .description(
            "Every force's compliance (on-time referrals over due mandatory cases) and "
            "mandatory share (mandatory over recorded cases) in the window, with their "
            "over-dispersion-adjusted funnel z-scores: orange below the 95 % limit, red "
            "below the 99.8 % limit. The returned share (decided referrals the watchdog "
            "sent back or found needed no investigation) is flagged above its limits "
            "instead. The timeliness CUSUM turns red at its signal threshold. Volume anomaly "
            "is 1 (orange) when a recent month's recorded cases left the force's own limits: "
            "its data may distort the pooled targets. Empty cells mean too little data."
        )
        .datasource(DATASOURCE)
        .targets([instant_table(expr, ref) for ref, expr in queries.items()])
        .transformations(join_tables(names))
        .sort_by([TableSortByFieldState().display_name("Compliance z").desc(False)])
        .height(16)
        .span(24)
    )
    return with_overrides(
        panel,
        override("Compliance", ("unit", "percentunit")),
        override("Mandatory share", ("unit", "percentunit")),
        override("Returned share", ("unit", "percentunit")),
        override("Compliance z", *_z_column()),
        override("Mandatory share z", *_z_column()),
        override("Returned share z", *_z_column(high=True)),
        override(
            "Timeliness CUSUM",
            ("custom.cellOptions", {"type": "color-text"}),
            ("thresholds", cusum_thresholds().build()),
            ("decimals", 1),
        ),
        override(
            "Volume anomaly",
            ("custom.cellOptions", {"type": "color-text"}),
            ("thresholds", thresholds((None, "green"), (1, "orange")).build()),
        ),
        override(
            "Missed referrals open",
            ("custom.cellOptions", {"type": "color-text"}),
            ("thresholds", thresholds((None, "green"), (1, "red")).build()),
        ),
    )


def funnel_plot(
    measure: str, title: str, volume: str, volume_query: str, flagged: str = "below the lower"
) -> xychart.Panel:
    """A force's proportion against its volume, with the funnel's limits at each volume."""
    limits = f"force_bound:refmon_force_{measure}_limit_ratio:max"
    queries = {
        "A": volume_query,
        "B": f"force:refmon_force_{measure}_ratio:max",
        "C": f'max by (force) ({limits}{{bound="lower_998"}})',
        "D": f'max by (force) ({limits}{{bound="lower_95"}})',
        "E": f'max by (force) ({limits}{{bound="upper_95"}})',
        "F": f'max by (force) ({limits}{{bound="upper_998"}})',
    }
    names = {
        "Value #A": volume,
        "Value #B": title,
        "Value #C": "99.8 % lower",
        "Value #D": "95 % lower",
        "Value #E": "95 % upper",
        "Value #F": "99.8 % upper",
    }
    panel = (
        xychart.Panel()
        .title(f"Funnel plot: {title.lower()}")
        .description(
            f"Each point is a force: its {title.lower()} against its volume ({volume.lower()}). "
            "The lines are the 95 % and 99.8 % control limits around the national target; "
            f"points {flagged} lines are the forces the alerts name."
        )
        .datasource(DATASOURCE)
        .targets([instant_table(expr, ref) for ref, expr in queries.items()])
        .transformations(
            [
                *join_tables(names),
                transformation("sortBy", {"sort": [{"field": volume}]}),
            ]
        )
        .mapping(xy.SeriesMapping.AUTO)
        .series(
            [
                xychart.XYSeriesConfig().x(
                    xychart.XychartXYSeriesConfigX().matcher(
                        xychart.MatcherConfig().id("byName").options(volume)
                    )
                )
            ]
        )
        .legend(
            VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .show(xy.XYShowMode.POINTS)
        .unit("percentunit")
        .height(12)
        .span(12)
    )
    limit_style = (("custom.show", "lines"), ("custom.lineStyle", {"fill": "dash"}))
    return with_overrides(
        panel,
        *(
            override(name, *limit_style)
            for name in ("99.8 % lower", "95 % lower", "95 % upper", "99.8 % upper")
        ),
    )


def national_dashboard() -> dash.Dashboard:
    board = base_dashboard(
        "refmon: national overview",
        UID,
        "Referral compliance, timeliness over time, categorisation and referral outcomes of "
        "all 44 forces, compared by funnel and CUSUM.",
    ).with_row(dash.Row("National"))
    for panel in (*headline_stats(), *surveillance_stats()):
        board = board.with_panel(panel)
    board = board.with_row(dash.Row("Outliers"))
    for panel in outlier_stats():
        board = board.with_panel(panel)
    return (
        board.with_panel(overdue_list())
        .with_panel(outliers_by_state())
        .with_row(dash.Row("Forces"))
        .with_panel(force_table())
        .with_row(dash.Row("Funnel plots"))
        .with_panel(
            funnel_plot("compliance", "Compliance", "Due", "force:refmon_force_due_cases:sum")
        )
        .with_panel(
            funnel_plot(
                "mandatory_share",
                "Mandatory share",
                "Recorded",
                "force:refmon_force_recorded_cases:max",
            )
        )
        .with_panel(
            funnel_plot(
                "returned_share",
                "Returned share",
                "Decided",
                "force:refmon_force_decided_referrals:sum",
                flagged="above the upper",
            )
        )
        .with_panel(outcome_mix())
        .with_row(dash.Row("Timeliness over time"))
        .with_panel(cusum_paths())
    )


def headline_stats() -> list[stat.Panel]:
    return [
        stat_panel(
            "National compliance",
            'max(refmon_national_ratio{measure="compliance"})',
            "percentunit",
            "On-time referrals over due mandatory cases, all forces, in the window.",
        ),
        stat_panel(
            "National mandatory share",
            'max(refmon_national_ratio{measure="mandatory_share"})',
            "percentunit",
            "Mandatory cases over recorded cases, all forces, in the window.",
        ),
        stat_panel(
            "Forces below the 95 % compliance limit",
            f"count(force:refmon_force_compliance_zscore:min < -{Z95}) or vector(0)",
            "none",
            "Forces whose compliance z-score is below the lower 95 % funnel limit.",
        ).thresholds(thresholds((None, "green"), (1, "orange"))),
        stat_panel(
            "Missed referrals open",
            'sum(force_kind:refmon_findings_open:sum{kind="missed_referral"})',
            "none",
            "Mandatory cases past their deadline with no referral, all forces.",
        ).thresholds(thresholds((None, "green"), (1, "red"))),
    ]


def surveillance_stats() -> list[stat.Panel]:
    return [
        stat_panel(
            "National returned share",
            'max(refmon_national_ratio{measure="returned_share"})',
            "percentunit",
            "Decided referrals, all forces, that the watchdog sent back or found needed no "
            "investigation, in the window.",
        ),
        stat_panel(
            "National late or overdue (CUSUM p0)",
            'max(refmon_cusum_parameter{measure="timeliness",parameter="p0"})',
            "percentunit",
            "The share of due mandatory cases not referred on time, nationally: the rate each "
            "force's timeliness CUSUM is measured against.",
        ),
        stat_panel(
            "Forces signalling on timeliness",
            "count(force:refmon_force_timeliness_signal:max == 1) or vector(0)",
            "none",
            "Forces whose timeliness CUSUM signalled in the last 90 days: recent referrals "
            "late more often than the national rate explains.",
        ).thresholds(thresholds((None, "green"), (1, "orange"))),
        stat_panel(
            "Forces above the 95 % returned-share limit",
            f"count(force:refmon_force_returned_share_zscore:max > {Z95}) or vector(0)",
            "none",
            "Forces whose returned share is above the upper 95 % funnel limit: possible "
            "over-referral.",
        ).thresholds(thresholds((None, "green"), (1, "orange"))),
        stat_panel(
            "Forces with a volume anomaly",
            "count(force:refmon_force_volume_anomaly:max == 1) or vector(0)",
            "none",
            "Forces whose recorded cases in one of the latest three complete months left their "
            "own process limits (docs/volume.md): a data-quality question that also moves the "
            "pooled national targets.",
        ).thresholds(thresholds((None, "green"), (1, "orange"))),
    ]


def outcome_mix() -> piechart.Panel:
    return (
        piechart.Panel()
        .title("Referral outcomes, all forces")
        .description(
            "The watchdog's latest decision on each case referred in the window: investigated "
            "independently, directed, locally; or returned (referred back, no investigation)."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                "sum by (decision) (force_decision:refmon_force_referral_decisions:max)",
                "{{decision}}",
            ).instant()
        )
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .pie_type(pie.PieChartType.DONUT)
        .legend(
            piechart.PieChartLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
            .values([pie.PieChartLegendValues.VALUE, pie.PieChartLegendValues.PERCENT])
        )
        .unit("none")
        .height(12)
        .span(12)
    )


def cusum_paths() -> timeseries.Panel:
    return with_threshold_line(
        timeseries_panel(
            "Timeliness CUSUM by force",
            "Each force's CUSUM over time: it climbs while its due cases are late or overdue "
            "more often than the national rate and falls back towards 0 while they are on "
            "time. At the dashed line (h) it signals and starts again from 0.",
            "none",
        ).with_target(query("force:refmon_force_timeliness_cusum:max", "{{force}}")),
        cusum_thresholds(),
    ).span(24)
