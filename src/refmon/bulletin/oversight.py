"""The report's oversight sections (docs/contract.md sections 14 and 15), read and checked:
its outliers and each force's comparison, regrouped when other peer groups are given.
The published rows are made from them in `outlier_rows.py` and `comparison.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError

from refmon.bulletin.public import MEASURE_PARTS
from refmon.report_model import ForceRow, Report, ReportError
from refmon.streams.engine.outlier_model import OutlierState
from refmon.streams.engine.peers import PeerGroups

Text = Annotated[str, Field(min_length=1, max_length=200)]
MEASURE_WORDS = {
    "compliance": "Compliance",
    "mandatory_share": "Mandatory share",
    "returned_share": "Returned share",
    "timeliness": "Timeliness (CUSUM)",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class Action(_Strict):
    event_type: Text
    occurred_at: datetime
    outcome: Text | None = None
    reason: Text | None = None


class Outlier(_Strict):
    outlier_id: Text
    force: Annotated[str, Field(pattern=r"^[A-Z]{1,16}$")]
    measure: Literal["compliance", "mandatory_share", "returned_share", "timeliness"]
    level: Literal["alert", "alarm"]
    opened_at: datetime
    state: OutlierState
    awaits: Text | None
    owner: Literal["watchdog", "force"] | None
    due: datetime | None
    overdue: StrictBool
    closed_at: datetime | None
    close_reason: Text | None
    history: list[Action]


class Comparison(_Strict):
    force: str
    group: Text | None = None
    compliance_group: float | None = None
    compliance_last_year: float | None = None
    compliance_change: float | None = None
    compliance_change_z: float | None = None
    compliance_change_significant: StrictBool | None = None
    mandatory_share_group: float | None = None
    mandatory_share_last_year: float | None = None
    mandatory_share_change: float | None = None
    mandatory_share_change_z: float | None = None
    mandatory_share_change_significant: StrictBool | None = None
    returned_share_group: float | None = None
    returned_share_last_year: float | None = None
    returned_share_change: float | None = None
    returned_share_change_z: float | None = None
    returned_share_change_significant: StrictBool | None = None


@dataclass(frozen=True, slots=True)
class Oversight:
    outliers: list[Outlier] = field(default_factory=list)
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    peer_groups: str | None = None
    """`regions` (the default) or `peer_groups` (a file given); None in a 0.1 report."""
    peer_groups_source: str | None = None
    counts: dict[str, ForceRow] = field(default_factory=dict)
    """The report's true force rows: last year's counts are worked out from them."""


_OUTLIERS = TypeAdapter(list[Outlier])
_COMPARISONS = TypeAdapter(list[Comparison])


def read_oversight(text: str, report: Report) -> Oversight:
    """Sections 14 and 15 of a report already checked by `read_report` (which bounds its
    size and depth); a report from release 0.1 has neither, and gets empty tables."""
    body = json.loads(text)
    try:
        outliers = _OUTLIERS.validate_python(body.get("outliers") or [])
        comparisons = _COMPARISONS.validate_python(body.get("forces") or [])
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReportError(f"outliers or peer comparison: {where}: {first['msg']}") from None
    source = body.get("peer_groups_source")
    kind = body.get("peer_groups")
    return Oversight(
        outliers,
        {c.force: c for c in comparisons},
        kind if isinstance(kind, str) else None,
        source if isinstance(source, str) else None,
        {row.force: row for row in report.forces},
    )


def regroup(oversight: Oversight, report: Report, groups: PeerGroups) -> Oversight:
    """The comparison with other groups (`refmon bulletin --peer-groups`): each force's group
    and its group's means made again from the report's own rates, as section 15 defines
    them (the unweighted mean over the group's forces that have the measure); last year is
    the report's, since it does not depend on the grouping."""
    means: dict[tuple[str, str], float] = {}
    for measure in MEASURE_PARTS:
        members: dict[str, list[float]] = {}
        for row in report.forces:
            group, value = groups.groups.get(row.force), getattr(row, measure)
            if group is not None and value is not None:
                members.setdefault(group, []).append(value)
        for group, values in members.items():
            means[(group, measure)] = sum(values) / len(values)
    comparisons: dict[str, Comparison] = {}
    for row in report.forces:
        group = groups.groups.get(row.force)
        found = oversight.comparisons.get(row.force) or Comparison(force=row.force)
        update: dict[str, Any] = {"group": group}
        for measure in MEASURE_PARTS:
            update[f"{measure}_group"] = None if group is None else means.get((group, measure))
        comparisons[row.force] = found.model_copy(update=update)
    return Oversight(oversight.outliers, comparisons, groups.kind, groups.source, oversight.counts)
