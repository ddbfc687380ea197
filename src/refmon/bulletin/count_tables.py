"""The tables of counts and rates: every force's row, and a force (or the nation) by month."""

from __future__ import annotations

from refmon.bulletin.cells import FORCE, Cell, Column, count, judged, pct
from refmon.bulletin.tables import number_text

COUNT_HEADERS = {
    "recorded": "Recorded",
    "mandatory": "Mandatory",
    "due": "Due",
    "on_time": "On time",
    "late": "Late",
    "overdue": "Overdue",
    "pending": "Pending",
    "decided": "Decided",
    "open_findings_total": "Open findings",
}


def _counts(below: int, *keys: str) -> list[Column]:
    return [Column(COUNT_HEADERS[key], count(key, below)) for key in keys]


def _hours(header: str, key: str) -> Column:
    return Column(header, lambda m: Cell(number_text(m[key], 0)))


def force_columns(below: int) -> list[Column]:
    return [
        FORCE,
        *_counts(below, "recorded", "mandatory"),
        Column("Mandatory share", judged("mandatory_share")),
        *_counts(below, "due", "on_time", "late", "overdue"),
        Column("Compliance", judged("compliance")),
        Column(
            "CUSUM",
            lambda r: Cell(
                number_text(r["timeliness_cusum"], 0), status=str(r["timeliness_status"])
            ),
        ),
        *_counts(below, "decided"),
        Column("Returned share", judged("returned_share")),
        *_counts(below, "open_findings_total"),
    ]


def month_columns(below: int, with_delays: bool) -> list[Column]:
    columns = [
        Column("Month", lambda m: Cell(str(m["month"])), False),
        *_counts(below, "recorded", "mandatory"),
        Column("Mandatory share", pct("mandatory_share_pct")),
        *_counts(below, "due", "on_time", "late", "overdue", "pending"),
        Column("Compliance", pct("compliance_pct")),
    ]
    if with_delays:
        columns += [
            _hours("Delay median (h)", "referral_delay_median_hours"),
            _hours("Delay 90th pct (h)", "referral_delay_p90_hours"),
        ]
    return columns
