"""A bulletin from a report: the national view, or one force's own.

`render` returns the files to write (name -> text): `index.html`, one
self-contained page (inline SVG and CSS, no script, nothing fetched), and a
CSV per table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from refmon.bulletin import charts
from refmon.bulletin.data import MEASURES, STATUS_FIELDS, Measure, flag_order, is_flagged
from refmon.bulletin.disclosure import Rule
from refmon.bulletin.oversight import (
    HISTORY_COLUMNS,
    MEASURE_WORDS,
    OUTLIER_COLUMNS,
    Oversight,
    closed_latest_first,
    comparison_rows,
    history_rows,
    open_first_overdue,
    outlier_row,
    state_counts,
)
from refmon.bulletin.public import Public, Row, number
from refmon.bulletin.tables import DASH, count_text, number_text, percent_text, to_csv

LONDON = ZoneInfo("Europe/London")
RECENT_DAYS = 90
"""A CUSUM signal counts towards `signal` while this recent (docs/contract.md section 11)."""


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local(text: str | None, fmt: str = "%-d %B %Y, %H:%M %Z") -> str:
    return DASH if text is None else _when(text).astimezone(LONDON).strftime(fmt)


def _mid(month: Mapping[str, Any]) -> datetime:
    start, end = _when(month["from"]), _when(month["to"])
    return start + (end - start) / 2


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    css: str = ""
    status: str | None = None
    """A status shown after the value, in words and a symbol (never colour alone)."""
    sub: str = ""
    """Smaller text on a line of its own (a force's code)."""


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    cell: Callable[[Mapping[str, Any]], Cell]
    numeric: bool = True


STATUS_WORDS = {
    "ok": "ok",
    "alert": "▲ alert",
    "alarm": "■ alarm",
    "signal": "▼ signal",
    "insufficient_data": "too few",
    "overdue": "■ overdue",
    "significant": "◆ significant",
}

STATE_WORDS = {
    "data_check": "data check",
    "notify": "to notify",
    "awaiting_response": "awaiting response",
    "under_review": "under review",
    "action_plan": "action plan",
    "monitoring": "monitoring",
    "closed": "closed",
}
OWNER_WORDS = {"watchdog": "IOPC", "force": "force"}
REASON_WORDS = {
    "satisfied": "satisfied",
    "back_within_limits": "back within limits",
    "escalated": "escalated",
    "withdrawn": "withdrawn",
    "data_error": "data error",
    "explained": "explained",
}


def _count(key: str, below: int) -> Callable[[Mapping[str, Any]], Cell]:
    return lambda r: Cell(count_text(r.get(key), below))


def _pct(key: str) -> Callable[[Mapping[str, Any]], Cell]:
    return lambda r: Cell(percent_text(r.get(key)))


def _judged(measure: str) -> Callable[[Mapping[str, Any]], Cell]:
    """A rate with its funnel status beneath it."""
    return lambda r: Cell(percent_text(r[f"{measure}_pct"]), status=str(r[f"{measure}_status"]))


def force_columns(below: int) -> list[Column]:
    return [
        Column("Force", lambda r: Cell(str(r["force_name"]), sub=str(r["force"])), False),
        Column("Recorded", _count("recorded", below)),
        Column("Mandatory", _count("mandatory", below)),
        Column("Mandatory share", _judged("mandatory_share")),
        Column("Due", _count("due", below)),
        Column("On time", _count("on_time", below)),
        Column("Late", _count("late", below)),
        Column("Overdue", _count("overdue", below)),
        Column("Compliance", _judged("compliance")),
        Column(
            "CUSUM",
            lambda r: Cell(
                number_text(r["timeliness_cusum"], 0), status=str(r["timeliness_status"])
            ),
        ),
        Column("Decided", _count("decided", below)),
        Column("Returned share", _judged("returned_share")),
        Column("Open findings", _count("open_findings_total", below)),
    ]


def _text(key: str, words: Mapping[str, str] | None = None) -> Callable[[Mapping[str, Any]], Cell]:
    def cell(r: Mapping[str, Any]) -> Cell:
        value = r.get(key)
        if value is None:
            return Cell(DASH)
        return Cell(words.get(str(value), str(value)) if words else str(value))

    return cell


def _awaits(r: Mapping[str, Any]) -> Cell:
    """Who owes what, and by when; the overdue ones marked in words, not colour alone."""
    if r["awaits"] is None:
        return Cell(DASH)
    who = OWNER_WORDS.get(str(r["owner"]), str(r["owner"]))
    by = f" by {r['due_by']}" if r["due_by"] else ""
    return Cell(f"{who}: {r['awaits']}{by}", status="overdue" if r["past_deadline"] else None)


def outlier_columns(with_force: bool, closed: bool) -> list[Column]:
    columns = [Column("Force", lambda r: Cell(str(r["force_name"]), sub=str(r["force"])), False)]
    columns = columns if with_force else []
    columns += [
        Column("Outlier", _text("outlier_id"), False),
        Column("Measure", _text("measure", MEASURE_WORDS), False),
        Column("Level", _text("level", STATUS_WORDS), False),
        Column("Opened", _text("opened"), False),
    ]
    if closed:
        return [
            *columns,
            Column("Closed", _text("closed"), False),
            Column("Reason", _text("close_reason", REASON_WORDS), False),
        ]
    return [
        *columns,
        Column("State", _text("state", STATE_WORDS), False),
        Column("Awaits", _awaits, False),
    ]


def comparison_columns() -> list[Column]:
    def change(r: Mapping[str, Any]) -> Cell:
        value = r["change_points"]
        if not isinstance(value, int):
            return Cell(percent_text(value))
        return Cell(f"{value:+d} points", status="significant" if r["change_significant"] else None)

    return [
        Column("Measure", _text("measure", MEASURE_WORDS), False),
        Column("This force", _pct("force_pct")),
        Column("Group", lambda r: Cell(percent_text(r["group_pct"]), sub=str(r["group"] or ""))),
        Column("England and Wales", _pct("england_wales_pct")),
        Column("Last year", _pct("last_year_pct")),
        Column("Change", change),
    ]


def history_columns() -> list[Column]:
    return [
        Column("Outlier", _text("outlier_id"), False),
        Column("Date", _text("date"), False),
        Column("Action", _text("action"), False),
        Column("Outcome", _text("outcome"), False),
    ]


def month_columns(below: int, with_delays: bool) -> list[Column]:
    columns = [
        Column("Month", lambda m: Cell(str(m["month"])), False),
        Column("Recorded", _count("recorded", below)),
        Column("Mandatory", _count("mandatory", below)),
        Column("Mandatory share", _pct("mandatory_share_pct")),
        Column("Due", _count("due", below)),
        Column("On time", _count("on_time", below)),
        Column("Late", _count("late", below)),
        Column("Overdue", _count("overdue", below)),
        Column("Pending", _count("pending", below)),
        Column("Compliance", _pct("compliance_pct")),
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


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    headers: list[tuple[str, bool]]
    rows: list[tuple[str, list[Cell]]]
    """(css class of the row, cells)."""
    csv: str
    """The file the same table is published in."""


def _table(
    caption: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    csv: str,
    flagged: Callable[[Mapping[str, Any]], bool] = lambda _: False,
) -> Table:
    return Table(
        caption,
        [(c.header, c.numeric) for c in columns],
        [("flagged" if flagged(r) else "", [c.cell(r) for c in columns]) for r in rows],
        csv,
    )


def _funnel(measure: Measure, public: Public, highlight: str | None) -> charts.FunnelSpec | None:
    national = public.national
    target, tau2 = (
        number(national[f"{measure.name}_target_pct"]),
        number(national[f"{measure.name}_tau2"]),
    )
    if target is None or tau2 is None:
        return None
    points = []
    for r in public.forces:
        # Plotted where the tables put it: the published denominator and whole-percent rate.
        n, rate = number(r[measure.denominator]), number(r[f"{measure.name}_pct"])
        if r[f"{measure.name}_status"] != "insufficient_data" and n and rate is not None:
            points.append(
                charts.FunnelPoint(str(r["force"]), rate / 100, n, str(r[f"{measure.name}_status"]))
            )
    if not points:
        return None
    return charts.FunnelSpec(
        measure.name,
        measure.title,
        measure.y_label,
        measure.x_label,
        target / 100,
        tau2,
        tuple(points),
        highlight,
    )


DENOMINATOR_WORDS = {
    "due": "mandatory cases due",
    "recorded": "cases recorded",
    "decided": "referrals decided",
}


@dataclass(frozen=True, slots=True)
class Figure:
    id: str
    svg: str
    caption: str


def _funnels(public: Public, highlight: str | None) -> list[Figure]:
    figures = []
    national = public.national
    for measure in MEASURES:
        spec = _funnel(measure, public, highlight)
        if spec is None:
            continue
        flagged = sorted(p.force for p in spec.points if p.status in {"alert", "alarm"})
        side = "below" if measure.side == "low" else "above"
        phrase = DENOMINATOR_WORDS[measure.denominator]
        unplotted = sorted(
            str(r["force"])
            for r in public.forces
            if r[f"{measure.name}_status"] != "insufficient_data"
            and all(p.force != r["force"] for p in spec.points)
        )
        caption = (
            f"{len(spec.points)} forces, each at its number of {phrase} (rounded to 5) and its "
            f"rate (whole percent). Target {national[f'{measure.name}_target_pct']}% (all forces "
            "together); limits widened for over-dispersion "
            f"(φ = {national[f'{measure.name}_phi']}, τ² = {national[f'{measure.name}_tau2']}). "
            f"Flagged {side} the limits: "
            f"{', '.join(flagged) or 'none'}."
        )
        if unplotted:
            caption += f" Not plotted (rate withheld): {', '.join(unplotted)}."
        figures.append(Figure(f"funnel-{measure.name}", charts.funnel_svg(spec), caption))
    return figures


def _ratio(value: Any) -> float | None:
    shown = number(value)
    return None if shown is None else shown / 100


def _national_trends(public: Public) -> list[Figure]:
    months = public.national_months
    x = tuple(_mid(m) for m in months)
    out = []
    for key, title, label in (
        ("compliance_pct", "National compliance by month", "referred on time"),
        ("mandatory_share_pct", "National mandatory share by month", "mandatory share"),
    ):
        y = tuple(_ratio(m.get(key)) for m in months)
        name = f"national-{key.removesuffix('_pct')}"
        svg = charts.monthly_svg(
            name, title, label, [charts.Series("all forces", x, y, charts.BLUE)], percent=True
        )
        out.append(
            Figure(
                name,
                svg,
                f"{title}, by the month the duty arose "
                "(compliance) or the case was recorded (share).",
            )
        )
    return out


def _month_ends(public: Public) -> dict[str, datetime]:
    return {str(m["month"]): _when(str(m["to"])) for m in public.national_months}


def _cusum_panel(public: Public, r: Row) -> charts.Panel:
    ends = _month_ends(public)
    rows = public.cusum[str(r["force"])]
    return charts.Panel(
        str(r["force"]),
        r["timeliness_status"] == "signal",
        tuple(ends[str(c["month"])] for c in rows),
        tuple(number(c["cusum"]) for c in rows),
        tuple(ends[str(c["month"])] for c in rows if c["signalled"]),
    )


def _grids(public: Public, rows: Sequence[Row]) -> list[Figure]:
    national = public.national_months
    reference = (
        tuple(_mid(m) for m in national),
        tuple(_ratio(m["compliance_pct"]) for m in national),
    )
    compliance = [
        charts.Panel(
            str(r["force"]),
            r["compliance_status"] in {"alert", "alarm"} or r["timeliness_status"] == "signal",
            tuple(_mid(m) for m in public.monthly[str(r["force"])]),
            tuple(_ratio(m["compliance_pct"]) for m in public.monthly[str(r["force"])]),
        )
        for r in rows
    ]
    h = float(str(public.national["timeliness_h"]))
    cusum = [_cusum_panel(public, r) for r in rows]
    return [
        Figure(
            "grid-compliance",
            charts.grid_svg(
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
            charts.grid_svg(
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


def _force_figures(public: Public, row: Row) -> list[Figure]:
    code = str(row["force"])
    months = public.monthly[code]
    national = {m["month"]: m for m in public.national_months}
    x = tuple(_mid(m) for m in months)
    figures = []
    for key, title, label in (
        ("compliance_pct", f"{code}: compliance by month", "referred on time"),
        ("mandatory_share_pct", f"{code}: mandatory share by month", "mandatory share"),
    ):
        own = tuple(_ratio(m[key]) for m in months)
        nat = tuple(
            _ratio(national[m["month"]][key]) if m["month"] in national else None for m in months
        )
        name = f"force-{key.removesuffix('_pct')}"
        figures.append(
            Figure(
                name,
                charts.monthly_svg(
                    name,
                    title,
                    label,
                    [
                        charts.Series(code, x, own, charts.BLUE),
                        charts.Series("national", x, nat, charts.GREY, "--", ""),
                    ],
                    percent=True,
                ),
                "A month whose cases are too few to show is left out.",
            )
        )
    median = tuple(number(m.get("referral_delay_median_hours")) for m in months)
    p90 = tuple(number(m.get("referral_delay_p90_hours")) for m in months)
    figures.append(
        Figure(
            "force-delays",
            charts.monthly_svg(
                "force-delays",
                f"{code}: time from duty to referral",
                "hours",
                [
                    charts.Series("median", x, median, charts.BLUE),
                    charts.Series("90th percentile", x, p90, charts.VERMILLION, "-", "s"),
                ],
                percent=False,
                band=(24.0, 48.0),
                band_label="deadline falls in here",
            ),
            "Referred mandatory cases by the month their duty arose, to the whole hour; cases not "
            "yet referred (overdue) have no delay, so read this beside the overdue count.",
        )
    )
    states = public.cusum[code]
    if states:
        end = _when(public.as_of)
        ends = _month_ends(public)
        figures.append(
            Figure(
                "force-cusum",
                charts.cusum_svg(
                    charts.CusumSpec(
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
        )
    return figures


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("refmon.bulletin", "html-templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(public: Public) -> dict[str, Any]:
    window_start = _when(public.as_of) - timedelta(days=public.window_days)
    return {
        "report": public,
        "below": public.below,
        "as_of": _local(public.as_of),
        "window_from": _local(window_start.isoformat()),
        "national": public.national,
        "pct": percent_text,
        "count": lambda v: count_text(v, public.below),
        "num": number_text,
        "status_words": STATUS_WORDS,
        "state_words": STATE_WORDS,
        "measures": MEASURES,
    }


def _csv_files(public: Public, rows: Sequence[Row]) -> dict[str, str]:
    codes = [str(r["force"]) for r in rows]
    names = {str(r["force"]): str(r["force_name"]) for r in rows}
    monthly = [{"force": c, "force_name": names[c], **m} for c in codes for m in public.monthly[c]]
    cusum = [{"force": c, "force_name": names[c], **m} for c in codes for m in public.cusum[c]]
    return {
        "forces.csv": to_csv(rows),
        "monthly.csv": to_csv(monthly),
        "cusum.csv": to_csv(cusum),
        "national-monthly.csv": to_csv(public.national_months),
    }


def _outlier_files(
    public: Public, oversight: Oversight, force: str | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The oversight tables (sections 14 and 15): CSV files and the page's context."""
    names = {str(r["force"]): str(r["force_name"]) for r in public.forces}
    mine = [o for o in oversight.outliers if force is None or o.force == force]
    open_rows = [outlier_row(o, names) for o in open_first_overdue(mine)]
    closed_rows = [outlier_row(o, names) for o in closed_latest_first(mine)]
    history = history_rows(mine)
    rule = Rule(below=public.below)
    comparisons = comparison_rows(public.forces, public.national, oversight, rule)
    compared = [r for code in names if force in (None, code) for r in comparisons[code]]
    files = {
        "outliers-open.csv": to_csv(open_rows, columns=OUTLIER_COLUMNS),
        "outliers-closed.csv": to_csv(closed_rows, columns=OUTLIER_COLUMNS),
        "outlier-history.csv": to_csv(history, columns=HISTORY_COLUMNS),
        "comparison.csv": to_csv(compared),
    }
    context = {
        "peer_groups": oversight.peer_groups,
        "peer_groups_source": oversight.peer_groups_source,
        "states": state_counts(mine),
        "open_outliers": _table(
            "Open outliers, the overdue first",
            outlier_columns(force is None, closed=False),
            open_rows,
            "outliers-open.csv",
            lambda r: bool(r["past_deadline"]),
        ),
        "closed_outliers": _table(
            "Closed outliers and why, the latest first",
            outlier_columns(force is None, closed=True),
            closed_rows,
            "outliers-closed.csv",
        ),
        "outlier_history": _table(
            "Each outlier's recorded actions", history_columns(), history, "outlier-history.csv"
        ),
        "comparison": None
        if force is None
        else _table(
            "Compared with its group, England and Wales, and itself a year earlier",
            comparison_columns(),
            comparisons[force],
            "comparison.csv",
            lambda r: bool(r["change_significant"]),
        ),
    }
    return files, context


def render(
    public: Public, force: str | None = None, oversight: Oversight | None = None
) -> dict[str, str]:
    """The bulletin's files: the national view, or with `force` that force's own."""
    rows = sorted(public.forces, key=flag_order)
    outlier_files, outlier_context = _outlier_files(public, oversight or Oversight(), force)
    context = _context(public) | outlier_context
    env = _environment()
    below = public.below
    if force is None:
        files = _csv_files(public, rows)
        context |= {
            "flagged": [r for r in rows if is_flagged(r)],
            "funnels": _funnels(public, None),
            "trends": _national_trends(public),
            "grids": _grids(public, rows),
            "forces_table": _table(
                "Every force, flagged first", force_columns(below), rows, "forces.csv", is_flagged
            ),
            "month_tables": [
                (
                    r,
                    _table(
                        f"{r['force_name']}: by month",
                        month_columns(below, True),
                        public.monthly[str(r["force"])],
                        "monthly.csv",
                    ),
                )
                for r in rows
            ],
            "national_months": _table(
                "All forces together, by month",
                month_columns(below, False),
                public.national_months,
                "national-monthly.csv",
            ),
            "status_fields": STATUS_FIELDS,
        }
        files |= outlier_files
        files["index.html"] = env.get_template("national.html.j2").render(context)
        return files
    row = next(r for r in public.forces if r["force"] == force)
    files = _csv_files(public, [row])
    context |= {
        "row": row,
        "name": row["force_name"],
        "code": force,
        "funnels": _funnels(public, force),
        "figures": _force_figures(public, row),
        "force_table": _table("This force's figures", force_columns(below), [row], "forces.csv"),
        "month_table": _table(
            "By month", month_columns(below, True), public.monthly[force], "monthly.csv"
        ),
    }
    files |= outlier_files
    files["index.html"] = env.get_template("force.html.j2").render(context)
    return files
