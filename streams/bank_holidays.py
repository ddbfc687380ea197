"""The bank holidays of England and Wales, as data for the engine's working days.

From the well-kept `holidays` package (pinned in pyproject.toml), so that refmon
never hand-keeps a calendar; tests/unit/test_bank_holidays.py holds it to the
published dates.
"""

from __future__ import annotations

from datetime import date
from functools import cache

FIRST_YEAR = 2000
"""Events before 2000 are rejected (CONTRACT.md section 13)."""


@cache
def england_and_wales(last_year: int = 2100) -> frozenset[date]:
    """Every bank holiday of England and Wales from 2000 to `last_year` (built on first use)."""
    import holidays  # a heavy import: only when a run needs working days

    table = holidays.country_holidays("GB", subdiv="ENG", years=range(FIRST_YEAR, last_year + 1))
    return frozenset(table)
