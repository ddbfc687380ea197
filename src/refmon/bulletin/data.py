"""The report a bulletin is made from (`refmon run --report` or `refmon report`), checked.

The bulletin reads only the report: every figure, status and limit in it is
the engine's, so the bulletin can never disagree with the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from refmon.bulletin.public import number
from refmon.report_model import Report, ReportError, parse_report
from refmon.schemas import load_forces

__all__ = ["MEASURES", "STATUS_FIELDS", "Measure", "ReportError", "flag_order", "read_report"]

Side = Literal["low", "high"]


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    title: str
    numerator: str
    denominator: str
    y_label: str
    x_label: str
    side: Side


MEASURES = (
    Measure(
        "compliance",
        "Compliance: mandatory cases referred on time",
        "on_time",
        "due",
        "referred on time",
        "mandatory cases due (logarithmic scale)",
        "low",
    ),
    Measure(
        "mandatory_share",
        "Mandatory share: recorded cases that had to be referred",
        "mandatory",
        "recorded",
        "mandatory share",
        "cases recorded (logarithmic scale)",
        "low",
    ),
    Measure(
        "returned_share",
        "Returned share: referrals the watchdog sent back",
        "returned",
        "decided",
        "returned share",
        "referrals decided (logarithmic scale)",
        "high",
    ),
)

STATUS_FIELDS = (
    "compliance_status",
    "mandatory_share_status",
    "returned_share_status",
    "timeliness_status",
)
FLAGS = frozenset({"alert", "alarm", "signal"})
_RANK = {"alarm": 0, "alert": 1, "signal": 1}


def read_report(text: str) -> Report:
    """Parse and check a whole report (`refmon.report_model`) and that its forces are known."""
    report = parse_report(text)
    known = {f.code for f in load_forces()}
    for i, row in enumerate(report.forces):
        if row.force not in known:
            raise ReportError(f"forces[{i}].force: unknown force {row.force!r}")
    return report


def statuses(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in STATUS_FIELDS)


def is_flagged(row: Mapping[str, Any]) -> bool:
    return bool(FLAGS.intersection(statuses(row)))


def flag_order(row: Mapping[str, Any]) -> tuple[int, float, str]:
    """Flagged forces first, the worst first (as `refmon run`'s summary orders them)."""
    worst = min(_RANK.get(s, 2) for s in statuses(row))
    beyond = max(
        -(number(row["compliance_z"]) or 0.0),
        -(number(row["mandatory_share_z"]) or 0.0),
        number(row["returned_share_z"]) or 0.0,
        0.0,
    )
    return (worst, -beyond if worst < 2 else 0.0, str(row["force"]))
