"""The page's tables as cells: a column says how to show one field of a row, a table is
columns applied to rows. Shared by every page and section; the values are published ones
(`public.py`), shown with `tables.py`'s text forms."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from refmon.bulletin.tables import DASH, count_text, percent_text

STATUS_WORDS = {
    "ok": "ok",
    "alert": "▲ alert",
    "alarm": "■ alarm",
    "signal": "▼ signal",
    "insufficient_data": "too few",
    "overdue": "■ overdue",
    "significant": "◆ significant",
}


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


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    headers: list[tuple[str, bool]]
    rows: list[tuple[str, list[Cell]]]
    """(css class of the row, cells)."""
    csv: str
    """The file the same table is published in."""


def table(
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


def count(key: str, below: int) -> Callable[[Mapping[str, Any]], Cell]:
    return lambda r: Cell(count_text(r.get(key), below))


def pct(key: str) -> Callable[[Mapping[str, Any]], Cell]:
    return lambda r: Cell(percent_text(r.get(key)))


def judged(measure: str) -> Callable[[Mapping[str, Any]], Cell]:
    """A rate with its funnel status beneath it."""
    return lambda r: Cell(percent_text(r[f"{measure}_pct"]), status=str(r[f"{measure}_status"]))


def text(key: str, words: Mapping[str, str] | None = None) -> Callable[[Mapping[str, Any]], Cell]:
    """A field as it is, or in `words`; a dash when there is none."""

    def cell(r: Mapping[str, Any]) -> Cell:
        value = r.get(key)
        if value is None:
            return Cell(DASH)
        return Cell(words.get(str(value), str(value)) if words else str(value))

    return cell


FORCE = Column("Force", lambda r: Cell(str(r["force_name"]), sub=str(r["force"])), False)
"""A force by its name, its code beneath."""
