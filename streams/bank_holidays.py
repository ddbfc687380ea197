"""The bank holidays of England and Wales, as data for the engine's working days.

From the well-kept `holidays` package (pinned in pyproject.toml), so that refmon
never hand-keeps a calendar; tests/unit/test_bank_holidays.py holds it to the
published dates. Built on first use: a run with no outlier never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from datetime import date
from functools import cache

FIRST_YEAR = 2000
"""Events before 2000 are rejected (docs/contract.md section 13)."""
LAST_YEAR = 2100


@cache
def _table() -> frozenset[date]:
    import holidays  # a heavy import: only when a deadline needs it

    years = range(FIRST_YEAR, LAST_YEAR + 1)
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=years))


class _OnFirstUse(Set[date]):
    """The table as a set, built when first asked."""

    def __contains__(self, day: object) -> bool:
        return day in _table()

    def __iter__(self) -> Iterator[date]:
        return iter(_table())

    def __len__(self) -> int:
        return len(_table())


def england_and_wales() -> Set[date]:
    """Every bank holiday of England and Wales from 2000 to 2100."""
    return _OnFirstUse()
