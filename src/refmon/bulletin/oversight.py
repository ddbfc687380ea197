"""The bulletin's oversight tables (docs/contract.md sections 14 and 15), as published rows.

Outliers carry states and dates, never a case count, so they are published as
they are. The comparison rates follow the disclosure rule of `public.py`: a
force's own rate is the published one; last year's rate and the change are
withheld with it, and whenever the report cannot vouch for last year's counts
(`M_change_z` null: a denominator under 5); a group's mean is withheld when a
member's rate is, since the mean and the others' rates would give it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError

from refmon.bulletin.disclosure import SECONDARY, SUPPRESSED, Rule, Value
from refmon.bulletin.public import MEASURE_PARTS, Row
from refmon.report_model import ForceRow, Report, ReportError
from refmon.streams.engine.outlier_model import STATES, OutlierState
from refmon.streams.engine.peers import PeerGroups

LONDON = ZoneInfo("Europe/London")
Text = Annotated[str, Field(min_length=1, max_length=200)]
STATE_ORDER = STATES
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


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LONDON).date().isoformat()


def _last_day(due: datetime | None) -> str | None:
    """A deadline is the end (24:00) of a working day: name that day, not the next one."""
    return None if due is None else _day(due - timedelta(microseconds=1))


def _whole(share: float | None) -> int | None:
    return None if share is None else round(100 * share)


LAST_YEAR_LIMIT = 200_000
"""The largest last-year denominator searched for (a force's year is far below it)."""


def last_year_counts(
    this: tuple[int, int], share: float, z: float, limit: int = LAST_YEAR_LIMIT
) -> list[tuple[int, int]]:
    """Every (numerator, denominator) last year could have had, given this year's counts,
    last year's share and the change's z: what a reader could work out from the report's
    figures, so the rule is applied to it. Each denominator n gives x = round(share * n);
    those whose share and pooled z (section 15's formula) come out as reported remain."""
    x1, n1 = this
    n2 = np.arange(5, limit + 1, dtype=np.float64)
    x2 = np.rint(share * n2)
    keep = x2 / n2 == share
    n2, x2 = n2[keep], x2[keep]
    p = (x1 + x2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = (x1 / n1 - x2 / n2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    match = np.isclose(zs, z, rtol=1e-9, atol=1e-12)
    return [(int(x), int(n)) for x, n in zip(x2[match], n2[match], strict=True)]


def _last_year_shown(this: tuple[int, int], share: float, z: float, rule: Rule) -> bool:
    """Last year's share (and so the change) is published only when the rule would publish
    its rate for every count it could have come from; none found: withheld."""
    found = last_year_counts(this, share, z)
    return bool(found) and all(not _withheld(rule.rate(x, n)) for x, n in found)


def _withheld(value: Value) -> bool:
    return value in (SUPPRESSED, SECONDARY)


def comparison_rows(
    forces: Sequence[Row],
    national: Row,
    oversight: Oversight,
    rule: Rule,
) -> dict[str, list[Row]]:
    """Per force, one row per measure: the force, its group, England and Wales, last year."""
    groups = {code: c.group for code, c in oversight.comparisons.items()}
    out: dict[str, list[Row]] = {}
    for row in forces:
        code = str(row["force"])
        found = oversight.comparisons.get(code)
        group = None if found is None else found.group
        members = [r for r in forces if group is not None and groups.get(str(r["force"])) == group]
        rows: list[Row] = []
        for measure in MEASURE_PARTS:
            own = row[f"{measure}_pct"]
            values: Mapping[str, Any] = {} if found is None else found.model_dump()
            last_year = values.get(f"{measure}_last_year")
            change = values.get(f"{measure}_change")
            change_z = values.get(f"{measure}_change_z")
            significant = values.get(f"{measure}_change_significant")
            group_mean = values.get(f"{measure}_group")
            numerator, denominator = MEASURE_PARTS[measure]
            true = oversight.counts.get(code)
            vouched = (
                true is not None
                and not _withheld(own)
                and own is not None
                and change_z is not None
                and last_year is not None
                and _last_year_shown(
                    (getattr(true, numerator), getattr(true, denominator)),
                    last_year,
                    change_z,
                    rule,
                )
            )
            group_pct: Value = _whole(group_mean)
            if group_pct is not None and any(_withheld(r[f"{measure}_pct"]) for r in members):
                group_pct = SUPPRESSED
            rows.append(
                {
                    "force": code,
                    "force_name": row["force_name"],
                    "measure": measure,
                    "force_pct": own,
                    "group": group,
                    "group_pct": group_pct,
                    "england_wales_pct": national.get(f"{measure}_pct"),
                    "last_year_pct": None
                    if last_year is None
                    else (_whole(last_year) if vouched else SUPPRESSED),
                    "change_points": None
                    if change is None
                    else (_whole(change) if vouched else SUPPRESSED),
                    "change_significant": bool(significant) if vouched else None,
                }
            )
        out[code] = rows
    return out


OUTLIER_COLUMNS = (
    "force",
    "force_name",
    "outlier_id",
    "measure",
    "level",
    "opened",
    "state",
    "awaits",
    "owner",
    "due_by",
    "past_deadline",
    "closed",
    "close_reason",
)
HISTORY_COLUMNS = ("force", "outlier_id", "date", "action", "outcome")


def outlier_row(o: Outlier, names: Mapping[str, str]) -> Row:
    return {
        "force": o.force,
        "force_name": names.get(o.force, o.force),
        "outlier_id": o.outlier_id,
        "measure": o.measure,
        "level": o.level,
        "opened": _day(o.opened_at),
        "state": o.state,
        "awaits": o.awaits,
        "owner": o.owner,
        "due_by": _last_day(o.due),
        "past_deadline": o.overdue,
        "closed": _day(o.closed_at),
        "close_reason": o.close_reason,
    }


def open_first_overdue(outliers: Sequence[Outlier]) -> list[Outlier]:
    """Open outliers as a worklist: the overdue first, then the nearest deadline (what falls
    overdue next; one with none, in monitoring, last), then by state (earliest stage first)."""
    far = datetime.max.replace(tzinfo=LONDON)
    return sorted(
        (o for o in outliers if o.state != "closed"),
        key=lambda o: (
            not o.overdue,
            o.due or far,
            STATE_ORDER.index(o.state),
            o.force,
            o.measure,
        ),
    )


def closed_latest_first(outliers: Sequence[Outlier]) -> list[Outlier]:
    closed = [o for o in outliers if o.state == "closed" and o.closed_at is not None]
    return sorted(closed, key=lambda o: (o.closed_at, o.force, o.measure), reverse=True)


def history_rows(outliers: Sequence[Outlier]) -> list[Row]:
    return [
        {
            "force": o.force,
            "outlier_id": o.outlier_id,
            "date": _day(a.occurred_at),
            "action": a.event_type,
            "outcome": a.outcome or a.reason,
        }
        for o in outliers
        for a in o.history
    ]


def state_counts(outliers: Sequence[Outlier]) -> list[Row]:
    """Open outliers by state, with how many of each are overdue (a count of outliers, not
    of cases: nothing to suppress)."""
    return [
        {
            "state": state,
            "open": sum(o.state == state for o in outliers),
            "overdue": sum(o.state == state and o.overdue for o in outliers),
        }
        for state in STATE_ORDER[:-1]
    ]
