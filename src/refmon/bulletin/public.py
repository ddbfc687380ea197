"""The public view of a report: every figure a bulletin may publish, and nothing else.

Made once from the validated report by the rule in `disclosure.py`; the HTML
page, its charts and the CSV files are all drawn from this view, so what they
show can be no more precise than what the rule allows. Oversight dashboards
(Grafana, the report itself) keep full detail; they are not published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from refmon.bulletin.audit import Ratio, Relation, protect
from refmon.bulletin.disclosure import SECONDARY, SUPPRESSED, Rule, Value
from refmon.report_model import ForceRow, Month, National, PathPoint, Report
from refmon.schemas import load_forces
from refmon.streams.engine.funnel import limits_at

__all__ = ["MEASURE_PARTS", "Public", "month_end", "number", "public_view", "withheld"]

Row = dict[str, Value]
Key = tuple[str, ...]

MEASURE_PARTS = {
    "compliance": ("on_time", "due"),
    "mandatory_share": ("mandatory", "recorded"),
    "returned_share": ("returned", "decided"),
}
COUNTS = ("recorded", "mandatory", "voluntary", "due", "on_time", "late", "overdue", "pending")
MONTH_COUNTS = ("recorded", "mandatory", "due", "on_time", "late", "overdue", "pending")


@dataclass(frozen=True, slots=True)
class Public:
    as_of: str
    window_days: int
    ruleset: str
    events: Value
    below: int
    national: Row
    national_months: list[Row]
    forces: list[Row]
    """One row per force, in the report's order; `monthly` and `cusum` rows kept apart."""
    monthly: dict[str, list[Row]]
    cusum: dict[str, list[Row]]


LONDON = ZoneInfo("Europe/London")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def month_end(moment: str) -> bool:
    """Whether a time is a month end: 00:00 UK time on the 1st (docs/contract.md section 14)."""
    local = _when(moment).astimezone(LONDON)
    return (local.day, local.hour, local.minute, local.second, local.microsecond) == (1, 0, 0, 0, 0)


def complete(months: Sequence[Month]) -> list[Month]:
    """The bulletin is cut at month ends: a part month would let two bulletins a day apart
    be subtracted for that day's cases."""
    return [m for m in months if not m.partial and _when(m.end) - _when(m.start) >= timedelta(1)]


def _month_row(m: Month, rule: Rule) -> Row:
    row: Row = {"month": m.month, "from": m.start, "to": m.end}
    row |= {key: rule.count(getattr(m, key)) for key in MONTH_COUNTS}
    row["mandatory_share_pct"] = rule.rate(m.mandatory, m.recorded)
    row["compliance_pct"] = rule.rate(m.on_time, m.due)
    if m.referred is not None:
        row["referred"] = rule.count(m.referred)
        row["referral_delay_median_hours"] = rule.hours(m.referral_delay_median_hours, m.referred)
        row["referral_delay_p90_hours"] = rule.hours(m.referral_delay_p90_hours, m.referred)
    return row


def cusum_months(path: Sequence[PathPoint], months: Sequence[Month], rule: Rule) -> list[Row]:
    """Each complete month's CUSUM state at its end, and whether it signalled in it: never a
    value per deadline, which can be solved step by step for that day's cases."""
    rows: list[Row] = []
    for m in months:
        start, end = _when(m.start), _when(m.end)
        before = [p for p in path if _when(p.deadline) < end]
        within = [p for p in before if _when(p.deadline) >= start]
        state = before[-1].cusum if before else 0.0
        rows.append(
            {
                "month": m.month,
                "cusum": rule.cusum(state),
                "signalled": any(p.signal for p in within),
            }
        )
    return rows


def _limits(national: National, measure: str, denominator: Value, status: str) -> Row:
    target = getattr(national, f"{measure}_target")
    tau2 = getattr(national, f"{measure}_tau2")
    names = [f"{measure}_{edge}_pct" for edge in ("lower_998", "lower_95", "upper_95", "upper_998")]
    if target is None or tau2 is None or status == "insufficient_data":
        return dict.fromkeys(names)
    if not isinstance(denominator, int) or denominator <= 0:
        return dict.fromkeys(names)
    # At the published denominator: limits at the true one would give it away.
    at = limits_at(target, tau2, float(denominator))
    edges = (at.lower_998, at.lower_95, at.upper_95, at.upper_998)
    return {name: round(100 * edge, 1) for name, edge in zip(names, edges, strict=True)}


def _force_row(r: ForceRow, name: str, rule: Rule) -> Row:
    row: Row = {"force": r.force, "force_name": name}
    row |= {key: rule.count(getattr(r, key)) for key in COUNTS}
    row["decided"] = rule.count(r.decided)
    row["returned"] = rule.count(r.returned)
    for measure, (numerator, denominator) in MEASURE_PARTS.items():
        rate = rule.rate(getattr(r, numerator), getattr(r, denominator))
        status = str(getattr(r, f"{measure}_status"))
        row[f"{measure}_pct"] = rate
        row[f"{measure}_z"] = rule.z(getattr(r, f"{measure}_z"), rate)
        row[f"{measure}_status"] = status
    row["timeliness_cusum"] = rule.cusum(r.timeliness_cusum)
    row["timeliness_status"] = r.timeliness_status
    row["timeliness_latest_signal_month"] = _signal_month(r.timeliness_signalled_at)
    row |= {f"decisions.{k}": rule.count(v) for k, v in r.decisions.items()}
    row |= {f"open_findings.{k}": rule.count(v) for k, v in r.open_findings.items()}
    row["open_findings_total"] = rule.count(sum(r.open_findings.values()))
    # The status and its months only: the limits come from the monthly counts.
    row["volume_status"] = r.volume_status
    row["volume_flagged_months"] = " ".join(r.volume_flagged_months)
    return row


def _signal_month(moment: str | None) -> str | None:
    # The month (UTC) of the latest signal: its instant would date one step of the path.
    return None if moment is None else _when(moment).strftime("%Y-%m")


def _national_row(n: National, rule: Rule) -> Row:
    def share(value: float | None, digits: int) -> float | None:
        return None if value is None else round(100 * value, digits)

    row: Row = {"due": rule.count(n.due), "on_time": rule.count(n.on_time)}
    row["compliance_pct"] = rule.rate(n.on_time, n.due)
    row["mandatory_share_pct"] = share(n.mandatory_share, 1)
    row["returned_share_pct"] = share(n.returned_share, 1)
    for measure in MEASURE_PARTS:
        row[f"{measure}_target_pct"] = share(getattr(n, f"{measure}_target"), 1)
        phi, tau2 = getattr(n, f"{measure}_phi"), getattr(n, f"{measure}_tau2")
        row[f"{measure}_phi"] = None if phi is None else round(phi, 2)
        row[f"{measure}_tau2"] = None if tau2 is None else round(tau2, 4)
    row["timeliness_p0_pct"] = share(n.timeliness_p0, 1)
    row["timeliness_h"] = n.timeliness_h
    return row


def public_view(report: Report, rule: Rule) -> Public:
    names = {f.code: f.name for f in load_forces()}
    months = complete(report.national.monthly)
    public = Public(
        as_of=report.as_of,
        window_days=report.window_days,
        ruleset=report.ruleset,
        events=rule.count(report.events.valid),
        below=rule.below,
        national=_national_row(report.national, rule),
        national_months=[_month_row(m, rule) for m in months],
        forces=[_force_row(r, names[r.force], rule) for r in report.forces],
        monthly={
            r.force: [_month_row(m, rule) for m in complete(r.monthly)] for r in report.forces
        },
        cusum={
            r.force: cusum_months(r.timeliness_path, months, rule) if r.timeliness_path else []
            for r in report.forces
        },
    )
    _secondary(public, rule)
    for row in public.forces:
        for measure, (_, denominator) in MEASURE_PARTS.items():
            row |= _limits(
                report.national, measure, row[denominator], str(row[f"{measure}_status"])
            )
    return public


def _cells(public: Public) -> dict[Key, tuple[Row, str]]:
    """Every published count and rate, by key, with the row and column that hold it."""
    cells: dict[Key, tuple[Row, str]] = {}
    for row in public.national_months:
        for column in row:
            cells[("nation", "", str(row["month"]), column)] = (row, column)
    for column in ("due", "on_time"):
        cells[("national", "", "", column)] = (public.national, column)
    for row in public.forces:
        force = str(row["force"])
        for column in row:
            cells[("force", force, "", column)] = (row, column)
        for month in public.monthly[force]:
            for column in month:
                cells[("month", force, str(month["month"]), column)] = (month, column)
    return cells


def _relations(public: Public) -> list[Relation | Ratio]:
    """What a reader can add up or divide: a row's parts, the months of a year, the forces
    of a month, and each rate with its two counts."""
    found: list[Relation | Ratio] = []
    months = [str(m["month"]) for m in public.national_months]
    forces = [str(r["force"]) for r in public.forces]

    def parts(table: str, force: str, month: str, row: Row) -> None:
        key = (table, force, month)
        found.append(
            Relation((*key, "due"), tuple((*key, c) for c in ("on_time", "late", "overdue")))
        )
        for rate, (numerator, denominator) in MEASURE_PARTS.items():
            if f"{rate}_pct" in row:
                found.append(Ratio((*key, numerator), (*key, denominator), (*key, f"{rate}_pct")))

    for row in public.forces:
        f = str(row["force"])
        own = ("force", f, "")
        parts(*own, row)
        decisions = tuple((*own, k) for k in row if k.startswith("decisions."))
        found.append(Relation((*own, "decided"), decisions))
        found.append(
            Relation(
                (*own, "returned"),
                ((*own, "decisions.referred_back"), (*own, "decisions.no_investigation")),
            )
        )
        findings = tuple((*own, k) for k in row if k.startswith("open_findings."))
        found.append(Relation((*own, "open_findings_total"), findings))
        for month in public.monthly[f]:
            parts("month", f, str(month["month"]), month)
        for column in MONTH_COUNTS:
            found.append(Relation((*own, column), tuple(("month", f, m, column) for m in months)))
    for month in public.national_months:
        m = str(month["month"])
        parts("nation", "", m, month)
        for column in MONTH_COUNTS:
            found.append(
                Relation(("nation", "", m, column), tuple(("month", f, m, column) for f in forces))
            )
    for column in ("due", "on_time"):
        found.append(
            Relation(("national", "", "", column), tuple(("force", f, "", column) for f in forces))
        )
    return found


def _secondary(public: Public, rule: Rule) -> None:
    """Withhold what would let a suppressed count be worked out (`audit.py`)."""
    cells = _cells(public)
    counts = {k: row[c] for k, (row, c) in cells.items() if not c.endswith(("_pct", "_z"))}
    rates = {k: row[c] for k, (row, c) in cells.items() if c.endswith("_pct")}

    def withhold(key: Key) -> None:
        row, column = cells[key]
        row[column] = SECONDARY
        z = column.removesuffix("_pct") + "_z"
        if column.endswith("_pct") and z in row:
            row[z] = SECONDARY

    protect(counts, rates, _relations(public), rule.below, rule.base, withhold)


def withheld(row: Row, which: str = SUPPRESSED) -> str:
    """The columns of a row left empty by the rule: suppressed (`withheld`), or withheld to
    protect them (`secondary`)."""
    return " ".join(key for key, value in row.items() if value == which)


def number(value: Any) -> float | None:
    """A published figure as a number for a chart; None when withheld or absent."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
