"""Outlier panels (docs/contract.md section 14), for the national and the force dashboards.

Counts by state and the overdue list come from the recording rules in
deploy/prometheus/rules.yml; labels are force, measure, state and owner only,
never an outlier's id.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat, table
from grafana_foundation_sdk.builders.common import TableSortByFieldState

from refmon.ops.grafana.panels import (
    DATASOURCE,
    instant_table,
    override,
    stat_panel,
    thresholds,
    transformation,
    with_overrides,
)

OPEN = 'state!="closed"'


def _where(force: str | None, *matchers: str) -> str:
    every = [*matchers, *([f'force="{force}"'] if force else [])]
    return "{" + ",".join(every) + "}"


def outlier_stats(force: str | None = None) -> list[stat.Panel]:
    """Open and overdue outliers; with `force` (a Grafana variable) that force's only."""
    return [
        stat_panel(
            "Open outliers",
            f"sum(force_measure_state:refmon_outliers:max{_where(force, OPEN)}) or vector(0)",
            "none",
            "Flagged measures being worked through with the force (check, notify, response, "
            "review, action plan, monitoring), not yet closed.",
        ).thresholds(thresholds((None, "green"), (1, "orange"))),
        stat_panel(
            "Overdue outliers",
            f"sum(force_owner:refmon_outliers_overdue:max{_where(force)}) or vector(0)",
            "none",
            "Open outliers whose awaited action is past its deadline, whoever owes it.",
        ).thresholds(thresholds((None, "green"), (1, "red"))),
    ]


def _table(title: str, description: str, expr: str, value: str, height: int) -> table.Panel:
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets([instant_table(expr, "A")])
        .transformations(
            [
                transformation(
                    "organize",
                    {"excludeByName": {"Time": True}, "renameByName": {"Value": value}},
                )
            ]
        )
        .sort_by([TableSortByFieldState().display_name(value).desc(True)])
        .height(height)
        .span(12)
    )
    return with_overrides(panel, override(value, ("decimals", 0)))


def outliers_by_state(force: str | None = None) -> table.Panel:
    return _table(
        "Open outliers by state",
        "Open outliers by force, measure and state (data_check, notify and under_review "
        "await the watchdog; awaiting_response and action_plan the force; monitoring "
        "awaits the close).",
        f"sum by (force, measure, state) "
        f"(force_measure_state:refmon_outliers:max{_where(force, OPEN)}) > 0",
        "Outliers",
        8,
    )


def overdue_list(force: str | None = None) -> table.Panel:
    panel = _table(
        "Overdue outliers by owner",
        "Outliers past the deadline of the action they await, by force and by who owes it: "
        "force (its response or action plan; alert RefmonOutlierOverdueForce, to that force) "
        "or watchdog (its check, notification or review; RefmonOutlierOverdueWatchdog, to "
        "oversight). List them with refmon outliers --overdue.",
        f"force_owner:refmon_outliers_overdue:max{_where(force)} > 0",
        "Overdue",
        8,
    )
    return with_overrides(
        panel,
        override(
            "Overdue",
            ("custom.cellOptions", {"type": "color-text"}),
            ("thresholds", thresholds((None, "green"), (1, "red")).build()),
        ),
    )
