"""The tables of counts and rates: every force's row, and a force (or the nation) by month."""

from __future__ import annotations

from refmon.bulletin.cells import FORCE, Cell, Column, count, judged, pct
from refmon.bulletin.tables import number_text


def force_columns(below: int) -> list[Column]:
    return [
        FORCE,
        Column("Recorded", count("recorded", below)),
        Column("Mandatory", count("mandatory", below)),
        Column("Mandatory share", judged("mandatory_share")),
        Column("Due", count("due", below)),
        Column("On time", count("on_time", below)),
        Column("Late", count("late", below)),
        Column("Overdue", count("overdue", below)),
        Column("Compliance", judged("compliance")),
        Column(
            "CUSUM",
            lambda r: Cell(
                number_text(r["timeliness_cusum"], 0), status=str(r["timeliness_status"])
            ),
        ),
        Column("Decided", count("decided", below)),
        Column("Returned share", judged("returned_share")),
        Column("Open findings", count("open_findings_total", below)),
    ]


def month_columns(below: int, with_delays: bool) -> list[Column]:
    columns = [
        Column("Month", lambda m: Cell(str(m["month"])), False),
        Column("Recorded", count("recorded", below)),
        Column("Mandatory", count("mandatory", below)),
        Column("Mandatory share", pct("mandatory_share_pct")),
        Column("Due", count("due", below)),
        Column("On time", count("on_time", below)),
        Column("Late", count("late", below)),
        Column("Overdue", count("overdue", below)),
        Column("Pending", count("pending", below)),
        Column("Compliance", pct("compliance_pct")),
    ]
    if with_delays:
        columns += [
            Column(
                "Delay median (h)", lambda m: Cell(number_text(m["referral_delay_median_hours"], 0))
            ),
            Column(
                "Delay 90th pct (h)", lambda m: Cell(number_text(m["referral_delay_p90_hours"], 0))
            ),
        ]
    return columns
