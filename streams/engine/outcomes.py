"""What applying an event answers and raises, and the two rules every event meets first:
whose namespace its id belongs to, and how far it may move the clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from refmon.streams.engine.findings import FindingChange
from refmon.streams.engine.model import Event
from refmon.streams.engine.timeutil import MIN_MICROS
from refmon.streams.engine.vocabulary import WATCHDOG_EVENT_TYPES, WATCHDOG_SCOPE

Outcome = Literal["applied", "duplicate", "conflict", "retired", "limit"]


class Applied(NamedTuple):
    outcome: Outcome
    """`conflict`: the same id from the same source with other content (rejected);
    `retired`: a new event for a case retired long ago (rejected, see retirement.py);
    `limit`: facts that would take the case past its bounds (rejected, see links.py)."""
    changes: tuple[FindingChange, ...]

    @property
    def duplicate(self) -> bool:
        return self.outcome == "duplicate"


DUPLICATE = Applied("duplicate", ())
CONFLICT = Applied("conflict", ())
RETIRED = Applied("retired", ())
LIMIT = Applied("limit", ())
CONTENT_UNKNOWN = -1
"""The fingerprint of a retired case's event restored from a worker's changelog: its id
is known, not its content. hash() never returns -1, so no event's content matches it."""


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """A case as the engine judges it now (times in microseconds)."""

    recorded_at: int | None
    duty_arose_at: int | None
    deadline: int | None
    criteria: tuple[str, ...]
    referral_at: int | None


class UnknownForceError(KeyError):
    """An event for a force the engine was not configured with."""


class OutOfRangeError(ValueError):
    """A time the engine cannot judge: its deadlines and labels would not be representable.

    Adapters reject implausible times long before this (docs/contract.md section 13);
    this keeps the engine itself from ever failing half-way through an event.
    """


def clock_at(event: Event, received_at_us: int | None) -> int:
    """How far an event moves the clock: to its own time, but never past when it was
    received (docs/contract.md section 13). A maximum over events of this minimum does not
    depend on their arrival order (section 7)."""
    if received_at_us is None:
        return event.occurred_at_us
    return max(MIN_MICROS, min(event.occurred_at_us, received_at_us))


def source_scope(event: Event) -> str:
    """Whose namespace an event id belongs to (docs/contract.md section 7)."""
    return WATCHDOG_SCOPE if event.event_type in WATCHDOG_EVENT_TYPES else event.force
