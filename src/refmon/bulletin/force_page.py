"""A force's own page: its monthly series, delays and CUSUM beside the national ones, its
row and its months (the funnels, with it picked out, and the outlier section are shared)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from refmon.bulletin.cells import table
from refmon.bulletin.chart_style import BLUE, GREY, VERMILLION
from refmon.bulletin.count_tables import force_columns, month_columns
from refmon.bulletin.figure import Figure, mid, month_ends, ratio, when
from refmon.bulletin.funnels import funnels
from refmon.bulletin.public import Public, Row, number
from refmon.bulletin.time_charts import CusumSpec, Series, cusum_svg, monthly_svg

RECENT_DAYS = 90
"""A CUSUM signal counts towards `signal` while this recent (docs/contract.md section 11)."""


def _series(public: Public, code: str) -> list[Figure]:
    """Its compliance and mandatory share by month, the national ones dashed beside them."""
    months = public.monthly[code]
    national = {m["month"]: m for m in public.national_months}
    x = tuple(mid(m) for m in months)
    figures = []
    for key, title, label in (
        ("compliance_pct", f"{code}: compliance by month", "referred on time"),
        ("mandatory_share_pct", f"{code}: mandatory share by month", "mandatory share"),
    ):
        own = tuple(ratio(m[key]) for m in months)
        nat = tuple(
            ratio(national[m["month"]][key]) if m["month"] in national else None for m in months
        )
        name = f"force-{key.removesuffix('_pct')}"
        figures.append(
            Figure(
                name,
                monthly_svg(
                    name,
                    title,
                    label,
                    [
                        Series(code, x, own, BLUE),
                        Series("national", x, nat, GREY, "--", ""),
                    ],
                    percent=True,
                ),
                "A month whose cases are too few to show is left out.",
            )
        )
    return figures


def _delays(public: Public, code: str) -> Figure:
    months = public.monthly[code]
    x = tuple(mid(m) for m in months)
    median = tuple(number(m.get("referral_delay_median_hours")) for m in months)
    p90 = tuple(number(m.get("referral_delay_p90_hours")) for m in months)
    return Figure(
        "force-delays",
        monthly_svg(
            "force-delays",
            f"{code}: time from duty to referral",
            "hours",
            [
                Series("median", x, median, BLUE),
                Series("90th percentile", x, p90, VERMILLION, "-", "s"),
            ],
            percent=False,
            band=(24.0, 48.0),
            band_label="deadline falls in here",
        ),
        "Referred mandatory cases by the month their duty arose, to the whole hour; cases not "
        "yet referred (overdue) have no delay, so read this beside the overdue count.",
    )


def _cusum(public: Public, code: str) -> Figure | None:
    states = public.cusum[code]
    if not states:
        return None
    end = when(public.as_of)
    ends = month_ends(public)
    return Figure(
        "force-cusum",
        cusum_svg(
            CusumSpec(
                f"cusum-{code}",
                f"{code}: timeliness CUSUM",
                tuple(ends[str(c["month"])] for c in states),
                tuple(float(str(c["cusum"])) for c in states),
                tuple(bool(c["signalled"]) for c in states),
                float(str(public.national["timeliness_h"])),
                end - timedelta(days=RECENT_DAYS),
                end,
            )
        ),
        "The CUSUM at each month end, to the whole unit: it climbs with each late or "
        "overdue case and falls a little with each on-time one; ▼ marks a month in which "
        "it reached the threshold, signalled and started again from zero.",
    )


def _figures(public: Public, code: str) -> list[Figure]:
    cusum = _cusum(public, code)
    return [*_series(public, code), _delays(public, code), *([cusum] if cusum else [])]


def force_context(public: Public, row: Row) -> dict[str, Any]:
    """What `force.html.j2` shows beyond the shared context."""
    code = str(row["force"])
    below = public.below
    return {
        "row": row,
        "name": row["force_name"],
        "code": code,
        "funnels": funnels(public, code),
        "figures": _figures(public, code),
        "force_table": table("This force's figures", force_columns(below), [row], "forces.csv"),
        "month_table": table(
            "By month", month_columns(below, True), public.monthly[code], "monthly.csv"
        ),
    }
