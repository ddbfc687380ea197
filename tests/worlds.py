"""Small hand-made worlds shared by several tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories import received, recorded

START = datetime(2026, 1, 5, 10, tzinfo=UTC)


def day_at(day: int, hours: int = 0) -> str:
    """`day` days and `hours` hours after 2026-01-05T10:00:00Z."""
    return (START + timedelta(days=day, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def one_late_force() -> list[dict[str, Any]]:
    """MPS refers 40 cases on time; DUR refers 16 three days late, one a day.

    p0 = 16 / 56, so a late case weighs ln 2 - ln(1 + p0) = 0.4418 and the
    14th late case in a row takes DUR's CUSUM to 6.19: a signal at its deadline
    (its duty arose on 18 January, so 2026-01-20T00:00:00Z).
    """
    events = []
    for day in range(40):
        case = f"m{day}"
        events += [
            recorded(day_at(day), case=case, force="MPS", categories=["serious_assault"]),
            received(day_at(day, 2), case=case, force="MPS"),
        ]
    for day in range(16):
        case = f"d{day}"
        events += [
            recorded(day_at(day), case=case, categories=["serious_assault"]),
            received(day_at(day + 3), case=case),
        ]
    return events
