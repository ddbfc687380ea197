"""A bulletin from a report: the national view, or one force's own.

`render` returns the files to write (name -> text): `index.html`, one
self-contained page (inline SVG and CSS, no script, nothing fetched), and a
CSV per table. The pages' parts are made in `national_page.py`,
`force_page.py`, `funnels.py` and `outlier_section.py`; here they are put
into the templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from refmon.bulletin.cells import STATUS_WORDS
from refmon.bulletin.data import MEASURES, flag_order
from refmon.bulletin.figure import when
from refmon.bulletin.force_page import force_context
from refmon.bulletin.national_page import national_context
from refmon.bulletin.outlier_section import STATE_WORDS, outlier_section
from refmon.bulletin.oversight import Oversight
from refmon.bulletin.public import Public, Row
from refmon.bulletin.tables import DASH, count_text, number_text, percent_text, to_csv

LONDON = ZoneInfo("Europe/London")


def _local(text: str | None, fmt: str = "%-d %B %Y, %H:%M %Z") -> str:
    return DASH if text is None else when(text).astimezone(LONDON).strftime(fmt)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("refmon.bulletin", "html-templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(public: Public) -> dict[str, Any]:
    """What both pages show: the report's dates, and how figures are written."""
    window_start = when(public.as_of) - timedelta(days=public.window_days)
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


def render(
    public: Public, force: str | None = None, oversight: Oversight | None = None
) -> dict[str, str]:
    """The bulletin's files: the national view, or with `force` that force's own."""
    outlier_files, outlier_context = outlier_section(public, oversight or Oversight(), force)
    context = _context(public) | outlier_context
    if force is None:
        rows = sorted(public.forces, key=flag_order)
        files = _csv_files(public, rows)
        context |= national_context(public, rows)
        template = "national.html.j2"
    else:
        row = next(r for r in public.forces if r["force"] == force)
        files = _csv_files(public, [row])
        context |= force_context(public, row)
        template = "force.html.j2"
    files |= outlier_files
    files["index.html"] = _environment().get_template(template).render(context)
    return files
