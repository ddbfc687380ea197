"""The bulletin's figures as text: CSV files for a spreadsheet, and cells for the page.

Every value here is already a published one (`public.py`). In a CSV a
withheld figure is an empty cell, so numeric columns stay numeric, and the
row's `withheld` column names the columns left empty; on the page it reads
"<N" (a count) or "[c]" (a rate or z-score).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from refmon.bulletin.disclosure import SECONDARY, SUPPRESSED
from refmon.bulletin.public import withheld
from refmon.spreadsheet import neutral

__all__ = [
    "DASH",
    "count_text",
    "csv_cell",
    "neutral",
    "number_text",
    "percent_text",
    "to_csv",
]

DASH = "\N{EN DASH}"
"""A figure not shown: none to show."""


def csv_cell(value: Any) -> str:
    if value is None or value in (SUPPRESSED, SECONDARY):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return neutral(str(value))


def to_csv(
    rows: Sequence[Mapping[str, Any]],
    lead: Mapping[str, str] | None = None,
    columns: Sequence[str] = (),
) -> str:
    """Rows of one table as CSV: `lead`'s columns, the rows' keys, `withheld` (the columns
    suppressed: counts from 1 to 7, rates and z-scores of them) and `secondary` (the columns
    withheld so that those cannot be worked out; any value)."""
    out = io.StringIO()
    if not rows:
        # A table with no rows still says what it would hold (when its columns are known).
        if columns:
            csv.writer(out, lineterminator="\n").writerow([*columns, "withheld", "secondary"])
        return out.getvalue()
    columns = [*(lead or {}), *rows[0], "withheld", "secondary"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = [neutral(v) for v in (lead or {}).values()]
        cells += [csv_cell(row.get(k)) for k in rows[0]]
        writer.writerow([*cells, withheld(dict(row)), withheld(dict(row), SECONDARY)])
    return out.getvalue()


def count_text(value: Any, below: int) -> str:
    """A published count for people, with thousands separators."""
    if value is None:
        return DASH
    if value == SUPPRESSED:
        return f"<{below}"
    if value == SECONDARY:
        return SECONDARY
    return f"{int(value):,}"


def percent_text(value: Any) -> str:
    if value is None:
        return DASH
    if value in (SUPPRESSED, SECONDARY):
        return str(value)
    return f"{value}%"


def number_text(value: Any, digits: int = 1) -> str:
    if value is None:
        return DASH
    if value in (SUPPRESSED, SECONDARY):
        return str(value)
    return f"{float(value):.{digits}f}"
