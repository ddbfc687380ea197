"""The national page's own parts: national trends, the every-force grids and the tables of
every force (the funnels and the outlier section are shared with the force pages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from refmon.bulletin.cells import table
from refmon.bulletin.chart_style import BLUE
from refmon.bulletin.count_tables import force_columns, month_columns
from refmon.bulletin.data import STATUS_FIELDS, is_flagged
from refmon.bulletin.figure import Figure, mid, month_ends, ratio
from refmon.bulletin.funnels import funnels
from refmon.bulletin.public import Public, Row, number
from refmon.bulletin.time_charts import Panel, Series, grid_svg, monthly_svg


def _national_trends(public: Public) -> list[Figure]:
    months = public.national_months
    x = tuple(mid(m) for m in months)
    out = []
    for key, title, label in (
        ("compliance_pct", "National compliance by month", "referred on time"),
        ("mandatory_share_pct", "National mandatory share by month", "mandatory share"),
    ):
        y = tuple(ratio(m.get(key)) for m in months)
        name = f"national-{key.removesuffix('_pct')}"
        svg = monthly_svg(name, title, label, [Series("all forces", x, y, BLUE)], percent=True)
        out.append(
            Figure(
                name,
                svg,
                f"{title}, by the month the duty arose "
                "(compliance) or the case was recorded (share).",
            )
        )
    return out


def _cusum_panel(public: Public, r: Row) -> Panel:
    ends = month_ends(public)
    rows = public.cusum[str(r["force"])]
    return Panel(
        str(r["force"]),
        r["timeliness_status"] == "signal",
        tuple(ends[str(c["month"])] for c in rows),
        tuple(number(c["cusum"]) for c in rows),
        tuple(ends[str(c["month"])] for c in rows if c["signalled"]),
    )


def _grids(public: Public, rows: Sequence[Row]) -> list[Figure]:
    national = public.national_months
    reference = (
        tuple(mid(m) for m in national),
        tuple(ratio(m["compliance_pct"]) for m in national),
    )
    compliance = [
        Panel(
            str(r["force"]),
            r["compliance_status"] in {"alert", "alarm"} or r["timeliness_status"] == "signal",
            tuple(mid(m) for m in public.monthly[str(r["force"])]),
            tuple(ratio(m["compliance_pct"]) for m in public.monthly[str(r["force"])]),
        )
        for r in rows
    ]
    h = float(str(public.national["timeliness_h"]))
    cusum = [_cusum_panel(public, r) for r in rows]
    return [
        Figure(
            "grid-compliance",
            grid_svg(
                "grid-compliance",
                "Compliance by month, every force",
                compliance,
                reference=reference,
                reference_label="national compliance",
                percent=True,
                y_range=(0.0, 1.02),
            ),
            "Each force's compliance by month on one scale (a month whose late or on-time cases "
            "are too few to show is left out); dashed: national. Flagged forces in vermillion.",
        ),
        Figure(
            "grid-cusum",
            grid_svg(
                "grid-cusum",
                "Timeliness CUSUM, every force",
                cusum,
                threshold=h,
                percent=False,
                y_range=(0.0, h * 1.2),
                step=True,
            ),
            f"Each force's CUSUM at each month end, to the whole unit; dashed: the threshold "
            f"h = {h:g}; ▼ a month in which it signalled (and started again from zero). A force "
            "with too few due cases has no chart.",
        ),
    ]


def national_context(public: Public, rows: Sequence[Row]) -> dict[str, Any]:
    """What `national.html.j2` shows beyond the shared context; `rows` flagged first."""
    below = public.below
    return {
        "flagged": [r for r in rows if is_flagged(r)],
        "funnels": funnels(public, None),
        "trends": _national_trends(public),
        "grids": _grids(public, rows),
        "forces_table": table(
            "Every force, flagged first", force_columns(below), rows, "forces.csv", is_flagged
        ),
        "month_tables": [
            (
                r,
                table(
                    f"{r['force_name']}: by month",
                    month_columns(below, True),
                    public.monthly[str(r["force"])],
                    "monthly.csv",
                ),
            )
            for r in rows
        ],
        "national_months": table(
            "All forces together, by month",
            month_columns(below, False),
            public.national_months,
            "national-monthly.csv",
        ),
        "status_fields": STATUS_FIELDS,
    }
