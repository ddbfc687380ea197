"""What a simulation is asked to produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Cases a year nationally at scale 1: complaint cases (about 85,000 in 2023/24)
# plus conduct and DSI matters.
NATIONAL_CASES_PER_YEAR = 90_000


@dataclass(frozen=True, slots=True)
class ForceBehaviour:
    """How badly a force behaves; each rate is a share of its mandatory cases."""

    under_refer: float = 0.0
    """Never referred (and assessed by the force as not mandatory)."""
    late: float = 0.0
    """Referred after the deadline."""
    under_categorise: float = 0.0
    """Recorded with facts that meet no criterion, so never judged mandatory."""
    deteriorate_from: date | None = None
    """From this day (Europe/London), `deteriorate` of its mandatory cases are referred late."""
    deteriorate: float = 0.0
    over_refer: float = 0.0
    """Share of its non-mandatory cases it refers anyway: weak referrals the watchdog
    mostly sends back or finds need no investigation."""
    inflate_from: date | None = None
    """For `INFLATE_DAYS` from this day, the force records `inflate` times its usual
    number of cases: the extra ones fabricated, non-mandatory and never referred."""
    inflate: float = 1.0


INFLATE_DAYS = 30


@dataclass(frozen=True, slots=True)
class SimConfig:
    start: date = date(2025, 1, 1)
    days: int = 365
    scale: float = 1.0
    seed: int = 1
    behaviour: dict[str, ForceBehaviour] = field(default_factory=dict)
    duplicates: float = 0.0
    """Share of events sent twice (at-least-once delivery)."""
    invalid: float = 0.0
    """Share of events preceded by a malformed copy of assorted kinds."""
    disorder_hours: float = 0.0
    """Each event is emitted up to this long after it occurred, so arrival order != event order."""
