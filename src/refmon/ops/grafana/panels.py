"""Small helpers over grafana-foundation-sdk that keep the three dashboards consistent."""

from __future__ import annotations

from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig, ReduceDataOptions
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from refmon.streams.engine.cusum import H

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

Z95 = 1.959964
Z998 = 3.090232


def datasource_variable() -> dash.DatasourceVariable:
    return (
        dash.DatasourceVariable("datasource")
        .label("Prometheus")
        .type("prometheus")
        .hide(VariableHide.DONT_HIDE)
    )


def base_dashboard(
    title: str, uid: str, description: str, since: str = "now-7d", refresh: str = "1m"
) -> dash.Dashboard:
    """What every refmon dashboard shares: tag, cursor sync, the data source picker."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["refmon"])
        .time(since, "now")
        .refresh(refresh)
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
    )


def force_variable() -> dash.QueryVariable:
    return (
        dash.QueryVariable("force")
        .label("Force")
        .datasource(DATASOURCE)
        .query("label_values(force:refmon_force_recorded_cases:max, force)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    return q.legend_format(legend) if legend else q


def instant_table(expr: str, ref: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .expr(expr)
        .ref_id(ref)
        .instant()
        .format(PromQueryFormat.TABLE)
        .datasource(DATASOURCE)
    )


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def z_thresholds() -> dash.ThresholdsConfig:
    """Red below the 99.8 % limit, orange below the 95 %, green otherwise (lower side only)."""
    return thresholds((None, "red"), (-Z998, "orange"), (-Z95, "green"))


def z_high_thresholds() -> dash.ThresholdsConfig:
    """Red above the 99.8 % limit, orange above the 95 %, green otherwise (high side only)."""
    return thresholds((None, "green"), (Z95, "orange"), (Z998, "red"))


def cusum_thresholds() -> dash.ThresholdsConfig:
    """Red from the CUSUM's signal threshold h."""
    return thresholds((None, "green"), (H, "red"))


def with_threshold_line(panel: timeseries.Panel, steps: dash.ThresholdsConfig) -> timeseries.Panel:
    """Draw the thresholds as dashed lines across a time series (e.g. the CUSUM's h)."""
    return panel.thresholds(steps).thresholds_style(
        GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
    )


def stat_panel(title: str, expr: str, unit: str, description: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query(expr))
        .unit(unit)
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )


def timeseries_panel(title: str, description: str, unit: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .height(8)
        .span(12)
    )


def transformation(id_val: str, options: dict[str, Any]) -> DataTransformerConfig:
    return DataTransformerConfig(id_val=id_val, options=options)


def join_tables(renames: dict[str, str]) -> list[DataTransformerConfig]:
    """Join instant table queries on `force`, drop the times, name the value columns.

    Columns come in the order of `renames`, after the force; organize's keys
    are the names before renaming.
    """
    order = ["force", *renames]
    return [
        transformation("joinByField", {"byField": "force", "mode": "outer"}),
        transformation(
            "organize",
            {
                "excludeByName": {name: True for name in ("Time", *_time_columns(len(renames)))},
                "renameByName": renames,
                "indexByName": {name: index for index, name in enumerate(order)},
            },
        ),
    ]


def _time_columns(count: int) -> list[str]:
    return [f"Time {index}" for index in range(1, count + 1)]


def override(name: str, *properties: tuple[str, Any]) -> tuple[str, list[DynamicConfigValue]]:
    return name, [DynamicConfigValue(id_val=key, value=value) for key, value in properties]


class _Overridable(Protocol):
    def override_by_name(self, name: str, properties: list[DynamicConfigValue]) -> Self: ...


P = TypeVar("P", bound=_Overridable)


def with_overrides(panel: P, *overrides: tuple[str, list[DynamicConfigValue]]) -> P:
    for name, properties in overrides:
        panel = panel.override_by_name(name, properties)
    return panel
