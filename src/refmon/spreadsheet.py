"""Text for a CSV file that a spreadsheet shows and never runs (CSV injection).

One rule for every CSV refmon writes for people: the bulletin's tables, its
internal worklist, and `refmon findings --format csv`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["neutral"]

FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list)."""


def neutral(text: str) -> str:
    """A text cell that no spreadsheet runs: a leading formula character gets a quote."""
    return "'" + text if text.startswith(FORMULA) else text
