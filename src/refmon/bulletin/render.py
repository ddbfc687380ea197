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
from refmon.bulletin.data import (
    MEASURES,
    STATUS_FIELDS,
    Measure,
    flag_order,
    force_names,
    is_flagged,
)
from refmon.bulletin.tables import (
    DASH,
    count_text,
    flatten,
    hours_text,
    number_text,
    percent_text,
    to_csv,
    visible,
)

LONDON = ZoneInfo("Europe/London")
RECENT_DAYS = 90
"""A CUSUM signal counts towards `signal` while this recent (docs/contract.md section 11)."""


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local(text: str | None, fmt: str = "%-d %B %Y, %H:%M %Z") -> str:
    return DASH if text is None else _when(text).astimezone(LONDON).strftime(fmt)


def _months(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The months a bulletin shows: a sliver of under a day at either end of the window
    (a window ending at 23:59 starts one at 23:59 a year before) says nothing."""
    return [m for m in rows if _when(m["to"]) - _when(m["from"]) >= timedelta(days=1)]


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
}


def _count(key: str, below: int) -> Callable[[Mapping[str, Any]], Cell]:
    return lambda r: Cell(count_text(r.get(key), below))


def _pct(key: str, below: int) -> Callable[[Mapping[str, Any]], Cell]:
    return lambda r: Cell(percent_text(key, r, below))


def _judged(key: str, status: str, below: int) -> Callable[[Mapping[str, Any]], Cell]:
    """A proportion with its funnel status beneath it."""
    return lambda r: Cell(percent_text(key, r, below), status=str(r[status]))


def force_columns(below: int, names: Mapping[str, str]) -> list[Column]:
    return [
        Column("Force", lambda r: Cell(names.get(r["force"], r["force"]), sub=r["force"]), False),
        Column("Recorded", _count("recorded", below)),
        Column("Mandatory", _count("mandatory", below)),
        Column("Mandatory share", _judged("mandatory_share", "mandatory_share_status", below)),
        Column("Due", _count("due", below)),
        Column("On time", _count("on_time", below)),
        Column("Late", _count("late", below)),
        Column("Overdue", _count("overdue", below)),
        Column("Compliance", _judged("compliance", "compliance_status", below)),
        Column(
            "CUSUM",
            lambda r: Cell(number_text(r["timeliness_cusum"]), status=str(r["timeliness_status"])),
        ),
        Column("Decided", _count("decided", below)),
        Column("Returned share", _judged("returned_share", "returned_share_status", below)),
        Column(
            "Open findings",
            lambda r: Cell(count_text(sum(r["open_findings"].values()), below)),
        ),
    ]


def month_columns(below: int, with_delays: bool) -> list[Column]:
    columns = [
        Column("Month", lambda m: Cell(m["month"] + (" (part)" if m["partial"] else "")), False),
        Column("Recorded", _count("recorded", below)),
        Column("Mandatory", _count("mandatory", below)),
        Column("Mandatory share", _pct("mandatory_share", below)),
        Column("Due", _count("due", below)),
        Column("On time", _count("on_time", below)),
        Column("Late", _count("late", below)),
        Column("Overdue", _count("overdue", below)),
        Column("Pending", _count("pending", below)),
        Column("Compliance", _pct("compliance", below)),
    ]
    if with_delays:
        columns += [
            Column(
                "Delay median (h)",
                lambda m: Cell(hours_text("referral_delay_median_hours", m, below)),
            ),
            Column(
                "Delay 90th pct (h)",
                lambda m: Cell(hours_text("referral_delay_p90_hours", m, below)),
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


def _funnel(
    measure: Measure, report: Mapping[str, Any], highlight: str | None
) -> charts.FunnelSpec | None:
    national = report["national"]
    target, tau2 = national[f"{measure.name}_target"], national[f"{measure.name}_tau2"]
    if target is None or tau2 is None:
        return None
    points = tuple(
        charts.FunnelPoint(
            r["force"],
            int(r[measure.numerator]),
            int(r[measure.denominator]),
            str(r[f"{measure.name}_status"]),
        )
        for r in report["forces"]
        if r[f"{measure.name}_status"] != "insufficient_data"
    )
    return charts.FunnelSpec(
        measure.name,
        measure.title,
        measure.y_label,
        measure.x_label,
        float(target),
        float(tau2),
        points,
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


def _funnels(report: Mapping[str, Any], highlight: str | None) -> list[Figure]:
    figures = []
    national = report["national"]
    for measure in MEASURES:
        spec = _funnel(measure, report, highlight)
        if spec is None:
            continue
        flagged = sorted(p.force for p in spec.points if p.status in {"alert", "alarm"})
        side = "below" if measure.side == "low" else "above"
        phrase = DENOMINATOR_WORDS[measure.denominator]
        caption = (
            f"{len(spec.points)} forces, each at its number of {phrase}. "
            f"Target {100 * spec.target:.1f}% (all forces together); limits widened for "
            f"over-dispersion (φ = {national[f'{measure.name}_phi']:.2f}, "
            f"τ² = {national[f'{measure.name}_tau2']:.4f}). Flagged {side} the limits: "
            f"{', '.join(flagged) or 'none'}."
        )
        figures.append(Figure(f"funnel-{measure.name}", charts.funnel_svg(spec), caption))
    return figures


def _national_trends(report: Mapping[str, Any], below: int) -> list[Figure]:
    months = _months(report["national"]["monthly"])
    x = tuple(_mid(m) for m in months)
    out = []
    for key, title, label in (
        ("compliance", "National compliance by month", "referred on time"),
        ("mandatory_share", "National mandatory share by month", "mandatory share"),
    ):
        y = tuple(visible(key, m, below) for m in months)
        svg = charts.monthly_svg(
            f"national-{key}",
            title,
            label,
            [charts.Series("all forces", x, y, charts.BLUE)],
            percent=True,
        )
        out.append(
            Figure(
                f"national-{key}",
                svg,
                f"{title}, by the month the duty arose "
                "(compliance) or the case was recorded (share).",
            )
        )
    return out


def _value(month: Mapping[str, Any], key: str, below: int) -> float | None:
    return visible(key, month, below)


def _grids(
    report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], below: int
) -> list[Figure]:
    national = _months(report["national"]["monthly"])
    reference = (tuple(_mid(m) for m in national), tuple(m["compliance"] for m in national))
    compliance = [
        charts.Panel(
            r["force"],
            r["compliance_status"] in {"alert", "alarm"} or r["timeliness_status"] == "signal",
            tuple(_mid(m) for m in _months(r["monthly"])),
            tuple(_value(m, "compliance", below) for m in _months(r["monthly"])),
        )
        for r in rows
    ]
    h = float(report["national"]["timeliness_h"])
    cusum = [
        charts.Panel(
            r["force"],
            r["timeliness_status"] == "signal",
            tuple(_when(p["deadline"]) for p in r["timeliness_path"]),
            tuple(float(p["cusum"]) for p in r["timeliness_path"]),
            tuple(_when(p["deadline"]) for p in r["timeliness_path"] if p["signal"]),
        )
        for r in rows
    ]
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
            "Each force's compliance by month on one scale (a month with fewer than "
            f"{below} due cases is left out); dashed: national. Flagged forces in vermillion.",
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
            f"Each force's CUSUM over its due cases in deadline order; dashed: the threshold "
            f"h = {h:g}, where the chart signals (▼) and starts again from zero. A force with "
            "too few due cases has no chart.",
        ),
    ]


def _force_figures(report: Mapping[str, Any], row: Mapping[str, Any], below: int) -> list[Figure]:
    code = row["force"]
    months = _months(row["monthly"])
    national = {m["month"]: m for m in _months(report["national"]["monthly"])}
    x = tuple(_mid(m) for m in months)
    figures = []
    for key, title, label in (
        ("compliance", f"{code}: compliance by month", "referred on time"),
        ("mandatory_share", f"{code}: mandatory share by month", "mandatory share"),
    ):
        own = tuple(_value(m, key, below) for m in months)
        nat = tuple(national[m["month"]][key] if m["month"] in national else None for m in months)
        figures.append(
            Figure(
                f"force-{key}",
                charts.monthly_svg(
                    f"force-{key}",
                    title,
                    label,
                    [
                        charts.Series(code, x, own, charts.BLUE),
                        charts.Series("national", x, nat, charts.GREY, "--", ""),
                    ],
                    percent=True,
                ),
                f"A month with fewer than {below} cases behind it is left out.",
            )
        )
    median = tuple(_value(m, "referral_delay_median_hours", below) for m in months)
    p90 = tuple(_value(m, "referral_delay_p90_hours", below) for m in months)
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
            "Referred mandatory cases by the month their duty arose; cases not yet referred "
            "(overdue) have no delay, so read this beside the overdue count.",
        )
    )
    path = row["timeliness_path"]
    if path:
        end = _when(report["as_of"])
        figures.append(
            Figure(
                "force-cusum",
                charts.cusum_svg(
                    charts.CusumSpec(
                        f"cusum-{code}",
                        f"{code}: timeliness CUSUM",
                        tuple(_when(p["deadline"]) for p in path),
                        tuple(float(p["cusum"]) for p in path),
                        tuple(bool(p["signal"]) for p in path),
                        float(report["national"]["timeliness_h"]),
                        end - timedelta(days=RECENT_DAYS),
                        end,
                    )
                ),
                "The CUSUM climbs with each late or overdue case and falls a little with each "
                "on-time one; at the threshold it signals and starts again from zero.",
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


def _context(report: Mapping[str, Any], below: int) -> dict[str, Any]:
    national = report["national"]
    window_start = _when(report["as_of"]) - timedelta(days=int(report["window_days"]))
    return {
        "report": report,
        "below": below,
        "as_of": _local(report["as_of"]),
        "window_from": _local(window_start.isoformat()),
        "national": national,
        "pct": lambda v: DASH if v is None else f"{100 * float(v):.1f}%",
        "num": number_text,
        "status_words": STATUS_WORDS,
        "measures": MEASURES,
    }


def _csv_files(
    report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], below: int
) -> dict[str, str]:
    monthly = [{"force": r["force"], **m} for r in rows for m in r["monthly"]]
    path = [{"force": r["force"], **p} for r in rows for p in r["timeliness_path"]]
    return {
        "forces.csv": to_csv([flatten(r) for r in rows], below),
        "monthly.csv": to_csv(monthly, below),
        "cusum.csv": to_csv(path, below),
        "national-monthly.csv": to_csv(list(report["national"]["monthly"]), below),
    }


def render(report: Mapping[str, Any], below: int, force: str | None = None) -> dict[str, str]:
    """The bulletin's files: the national view, or with `force` that force's own."""
    names = force_names()
    rows = sorted(report["forces"], key=flag_order)
    context = _context(report, below)
    env = _environment()
    if force is None:
        files = _csv_files(report, rows, below)
        context |= {
            "flagged": [r for r in rows if is_flagged(r)],
            "names": names,
            "funnels": _funnels(report, None),
            "trends": _national_trends(report, below),
            "grids": _grids(report, rows, below),
            "forces_table": _table(
                "Every force, flagged first",
                force_columns(below, names),
                rows,
                "forces.csv",
                is_flagged,
            ),
            "month_tables": [
                (
                    r,
                    _table(
                        f"{names.get(r['force'], r['force'])}: by month",
                        month_columns(below, True),
                        _months(r["monthly"]),
                        "monthly.csv",
                    ),
                )
                for r in rows
            ],
            "national_months": _table(
                "All forces together, by month",
                month_columns(below, False),
                _months(report["national"]["monthly"]),
                "national-monthly.csv",
            ),
            "status_fields": STATUS_FIELDS,
        }
        files["index.html"] = env.get_template("national.html.j2").render(context)
        return files
    row = next(r for r in report["forces"] if r["force"] == force)
    files = _csv_files(report, [row], below)
    context |= {
        "row": row,
        "name": names.get(force, force),
        "code": force,
        "funnels": _funnels(report, force),
        "figures": _force_figures(report, row, below),
        "force_table": _table(
            "This force's figures", force_columns(below, names), [row], "forces.csv"
        ),
        "month_table": _table(
            "By month", month_columns(below, True), _months(row["monthly"]), "monthly.csv"
        ),
        "signalled_at": _local(row.get("timeliness_signalled_at")),
    }
    files["index.html"] = env.get_template("force.html.j2").render(context)
    return files
