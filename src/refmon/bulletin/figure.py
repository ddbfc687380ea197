"""A figure on the page, and the dates every chart of monthly figures is placed by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from refmon.bulletin.public import Public, number


@dataclass(frozen=True, slots=True)
class Figure:
    id: str
    svg: str
    caption: str


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def mid(month: Mapping[str, Any]) -> datetime:
    """Where a month's figure is plotted: the middle of the month."""
    start, end = when(month["from"]), when(month["to"])
    return start + (end - start) / 2


def month_ends(public: Public) -> dict[str, datetime]:
    """Where a month-end state (the CUSUM's) is plotted."""
    return {str(m["month"]): when(str(m["to"])) for m in public.national_months}


def ratio(value: Any) -> float | None:
    """A published whole percent as a proportion; None when withheld or absent."""
    shown = number(value)
    return None if shown is None else shown / 100
