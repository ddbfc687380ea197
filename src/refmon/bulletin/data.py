"""The report a bulletin is made from (`refmon run --report` or `refmon report`), checked.

The bulletin reads only the report: every figure, status and limit in it is
the engine's, so the bulletin can never disagree with the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from refmon.schemas import load_forces

Side = Literal["low", "high"]


class ReportError(ValueError):
    """A report that a bulletin cannot be made from; the message names the field."""


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

_NATIONAL = [f"{m.name}_{part}" for m in MEASURES for part in ("target", "phi", "tau2")] + [
    "compliance",
    "mandatory_share",
    "returned_share",
    "timeliness_h",
    "monthly",
    "due",
]
_FORCE = [
    "force",
    "recorded",
    "mandatory",
    "due",
    "on_time",
    "late",
    "overdue",
    "pending",
    "decided",
    "returned",
    "monthly",
    "timeliness_path",
    "timeliness_cusum",
    *STATUS_FIELDS,
    *(f"{m.name}_z" for m in MEASURES),
    *(m.name for m in MEASURES),
]


def _require(body: Mapping[str, Any], keys: Sequence[str], where: str) -> None:
    for key in keys:
        if key not in body:
            raise ReportError(
                f"{where}{key} is missing (a report from an older refmon? make it again)"
            )


def read_report(text: str) -> dict[str, Any]:
    """Parse and check a report; raises ReportError naming the first field at fault."""
    try:
        body = json.loads(text)
    except ValueError as err:
        raise ReportError(f"not JSON: {err}") from None
    if not isinstance(body, dict):
        raise ReportError("not a report: the top level is not a JSON object")
    _require(body, ["as_of", "window_days", "ruleset", "national", "forces"], "")
    if body["as_of"] is None:
        raise ReportError("as_of is null: the run saw no events")
    _require(body["national"], _NATIONAL, "national.")
    known = {f.code for f in load_forces()}
    for i, row in enumerate(body["forces"]):
        _require(row, _FORCE, f"forces[{i}].")
        if row["force"] not in known:
            raise ReportError(f"forces[{i}].force: unknown force {str(row['force'])[:64]!r}")
    return body


def force_names() -> dict[str, str]:
    return {f.code: f.name for f in load_forces()}


def statuses(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in STATUS_FIELDS)


def is_flagged(row: Mapping[str, Any]) -> bool:
    return bool(FLAGS.intersection(statuses(row)))


def flag_order(row: Mapping[str, Any]) -> tuple[int, float, str]:
    """Flagged forces first, the worst first (as `refmon run`'s summary orders them)."""
    worst = min(_RANK.get(s, 2) for s in statuses(row))
    beyond = max(
        -(row["compliance_z"] or 0.0),
        -(row["mandatory_share_z"] or 0.0),
        row["returned_share_z"] or 0.0,
        0.0,
    )
    return (worst, -beyond if worst < 2 else 0.0, str(row["force"]))
