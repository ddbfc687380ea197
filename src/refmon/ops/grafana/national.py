"""National overview: which forces refer less, or record fewer mandatory cases, than peers."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table, xychart
from grafana_foundation_sdk.builders.common import TableSortByFieldState, VizLegendOptions
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import xychart as xy

from refmon.ops.grafana.panels import (
    DATASOURCE,
    Z95,
    base_dashboard,
    instant_table,
    join_tables,
    override,
    stat_panel,
    thresholds,
    transformation,
    with_overrides,
    z_thresholds,
)

UID = "refmon-national"


def _z_column() -> list[tuple[str, object]]:
    return [
        ("custom.cellOptions", {"type": "color-background"}),
        ("thresholds", z_thresholds().build()),
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
    }
    names = {
        "Value #A": "Compliance",
        "Value #B": "Compliance z",
        "Value #C": "Mandatory share",
        "Value #D": "Mandatory share z",
        "Value #E": "Due",
        "Value #F": "Recorded",
        "Value #G": "Missed referrals open",
    }
    panel = (
        table.Panel()
        .title("Forces against the funnel")
        .description(
            "Every force's compliance (on-time referrals over due mandatory cases) and "
            "mandatory share (mandatory over recorded cases) in the window, with their "
            "over-dispersion-adjusted funnel z-scores: orange below the 95 % limit, red "
            "below the 99.8 % limit. Empty z-scores mean too little data (under 5)."
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
        override("Compliance z", *_z_column()),
        override("Mandatory share z", *_z_column()),
        override(
            "Missed referrals open",
            ("custom.cellOptions", {"type": "color-text"}),
            ("thresholds", thresholds((None, "green"), (1, "red")).build()),
        ),
    )


def funnel_plot(measure: str, title: str, volume: str, volume_query: str) -> xychart.Panel:
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
            "points below the lower lines are the forces the alerts name."
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
    return (
        base_dashboard(
            "refmon: national overview",
            UID,
            "Referral compliance and categorisation of all 44 forces, compared by funnel.",
        )
        .with_row(dash.Row("National"))
        .with_panel(
            stat_panel(
                "National compliance",
                'max(refmon_national_ratio{measure="compliance"})',
                "percentunit",
                "On-time referrals over due mandatory cases, all forces, in the window.",
            )
        )
        .with_panel(
            stat_panel(
                "National mandatory share",
                'max(refmon_national_ratio{measure="mandatory_share"})',
                "percentunit",
                "Mandatory cases over recorded cases, all forces, in the window.",
            )
        )
        .with_panel(
            stat_panel(
                "Forces below the 95 % compliance limit",
                f"count(force:refmon_force_compliance_zscore:min < -{Z95}) or vector(0)",
                "none",
                "Forces whose compliance z-score is below the lower 95 % funnel limit.",
            ).thresholds(thresholds((None, "green"), (1, "orange")))
        )
        .with_panel(
            stat_panel(
                "Missed referrals open",
                'sum(force_kind:refmon_findings_open:sum{kind="missed_referral"})',
                "none",
                "Mandatory cases past their deadline with no referral, all forces.",
            ).thresholds(thresholds((None, "green"), (1, "red")))
        )
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
    )
