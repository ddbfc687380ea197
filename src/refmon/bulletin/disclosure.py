"""The disclosure rule every published figure is held to (docs/disclosure.md).

Pure functions from a true figure to its published form. The bulletin is made
only from what these return (see `public.py`): nothing downstream sees a true
count, so no chart, table or file can publish one by accident.

- A count of 0 is shown; 1 to `below - 1` (default 1 to 7, NHS England's HES
  rule) is suppressed; any other count is rounded to the nearest 5. Rounding
  is the secondary protection: a sum or difference of published counts is
  uncertain by several cases, so no suppressed cell can be worked out from
  its row, its column, or the same table a month later.
- A rate is a whole percent from the unrounded counts, withheld when its
  numerator or the rest of its denominator is suppressed: proportion times
  denominator (or one minus it) would give the suppressed count back.
- A z-score follows its rate (withheld with it), to one decimal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = ["SECONDARY", "SUPPRESSED", "Rule", "Value"]

SUPPRESSED: Final = "[c]"
"""A figure withheld for confidentiality (the ONS/GSS shorthand). A CSV cell holding one
is left empty, and the row's `withheld` column names it."""

SECONDARY: Final = "[s]"
"""A figure withheld so that a suppressed one cannot be worked out from it (`audit.py`)."""

Value = int | float | str | None
"""A published figure: a number, SUPPRESSED, or None (nothing to show)."""


def _half_up(value: float) -> int:
    return math.floor(value + 0.5)


@dataclass(frozen=True, slots=True)
class Rule:
    below: int = 8
    """Counts from 1 to below - 1 are suppressed."""
    base: int = 5
    """Other counts are rounded to a multiple of this."""

    def suppressed(self, count: int) -> bool:
        return 0 < count < self.below

    def count(self, count: int) -> int | str:
        if count == 0:
            return 0
        if self.suppressed(count):
            return SUPPRESSED
        return self.base * _half_up(count / self.base)

    def rate(self, numerator: int, denominator: int) -> int | str | None:
        """A proportion as a whole percent, or SUPPRESSED, or None when there is no denominator."""
        if denominator <= 0:
            return None
        if self.suppressed(numerator) or self.suppressed(denominator - numerator):
            return SUPPRESSED
        return _half_up(100 * numerator / denominator)

    def z(self, z: float | None, rate: Value) -> Value:
        if rate in (SUPPRESSED, SECONDARY):
            return rate
        return None if z is None or rate is None else round(z, 1)

    def hours(self, hours: float | None, cases: int | None) -> Value:
        """A delay quantile, in whole hours, shown only when enough cases lie behind it."""
        if hours is None or cases is None:
            return None
        return SUPPRESSED if self.suppressed(cases) else _half_up(hours)

    def cusum(self, value: float | None) -> int | None:
        """A CUSUM state to the whole unit: a step of one late case moves it by less than one,
        so successive published states cannot be solved for a month's cases."""
        return None if value is None else _half_up(value)
