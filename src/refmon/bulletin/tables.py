"""The bulletin's tables and their CSV files, with small numbers suppressed.

A published cell never holds a count from 1 to N - 1 (N = `--suppress-below`,
default 5): such a count is shown as "<N". A proportion whose denominator is
from 1 to N - 1 is not shown either (blank in CSV, a dash on the page), since
it would give its numerator away. Zero is shown. The statistics themselves
(z-scores, statuses, limits) are the report's, made from the real counts.

The CSV files keep the report's own field names as columns, nested objects
flattened with a dot (`decisions.local`), so a CSV and the report it came from
can be read side by side.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DASH = "\N{EN DASH}"
"""A figure not shown: none to show, or too few cases behind it."""

SERIES = ("monthly", "timeliness_path")
"""Lists in a force's row that are tables of their own, not columns."""

DENOMINATORS = {
    "compliance": "due",
    "mandatory_share": "recorded",
    "returned_share": "decided",
    "referral_delay_median_hours": "referred",
    "referral_delay_p90_hours": "referred",
}
"""Each proportion (or delay quantile) and the count of cases behind it."""


def flatten(row: Mapping[str, Any], skip: Iterable[str] = SERIES) -> dict[str, Any]:
    """A report object as one level of columns, in the report's order."""
    skipped = set(skip)
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key in skipped:
            continue
        if isinstance(value, Mapping):
            for inner, v in value.items():
                flat[f"{key}.{inner}"] = v
        else:
            flat[key] = value
    return flat


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def small(value: object, below: int) -> bool:
    return is_count(value) and 0 < int(str(value)) < below


def hidden(key: str, row: Mapping[str, Any], below: int) -> bool:
    """Whether a proportion is withheld because too few cases lie behind it."""
    denominator = DENOMINATORS.get(key)
    return denominator is not None and small(row.get(denominator), below)


def csv_cell(key: str, value: Any, row: Mapping[str, Any], below: int) -> str:
    if value is None or hidden(key, row, below):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if small(value, below):
        return f"<{below}"
    return str(value)


def to_csv(
    rows: Sequence[Mapping[str, Any]], below: int, lead: Mapping[str, str] | None = None
) -> str:
    """Rows of one report table as CSV: the columns are the rows' keys (after `lead`'s)."""
    out = io.StringIO()
    if not rows:
        return ""
    columns = [*(lead or {}), *rows[0]]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = [*(lead or {}).values()]
        cells += [csv_cell(k, row.get(k), row, below) for k in rows[0]]
        writer.writerow(cells)
    return out.getvalue()


def visible(key: str, row: Mapping[str, Any], below: int) -> float | None:
    """A proportion or delay as published: None when there is none or too few cases behind it."""
    value = row.get(key)
    return None if value is None or hidden(key, row, below) else float(value)


def count_text(value: object, below: int) -> str:
    """A count for people: suppressed when small, with thousands separators."""
    if value is None:
        return DASH
    if small(value, below):
        return f"<{below}"
    return f"{int(str(value)):,}"


def percent_text(key: str, row: Mapping[str, Any], below: int) -> str:
    value = row.get(key)
    if value is None or hidden(key, row, below):
        return DASH
    return f"{100 * float(value):.1f}%"


def hours_text(key: str, row: Mapping[str, Any], below: int) -> str:
    value = row.get(key)
    if value is None or hidden(key, row, below):
        return DASH
    return f"{float(value):.1f}"


def number_text(value: object, digits: int = 1) -> str:
    return DASH if value is None else f"{float(str(value)):.{digits}f}"
