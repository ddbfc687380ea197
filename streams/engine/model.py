"""The engine's inputs: plain, frozen values translated from the wire contract.

Times are integers of microseconds since the Unix epoch (UTC): exact, cheap to
compare and small to hold, which matters with a case per complaint nationally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventType = Literal[
    "case.recorded",
    "case.updated",
    "case.referred",
    "referral.received",
    "referral.decision",
    "case.closed",
]


@dataclass(frozen=True, slots=True)
class Allegation:
    allegation_id: str
    category: str
    aggravated_by_discrimination: bool = False
    offence_max_sentence_years: float | None = None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """The full current facts of a case, as a `case.recorded`/`case.updated` carries them."""

    case_kind: str
    harm: str
    allegations: tuple[Allegation, ...]
    subject_is_chief_officer: bool = False
    linked_case_ids: tuple[str, ...] = ()
    assessed_mandatory: bool = False
    assessed_criteria: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Referred:
    referral_kind: str
    criteria: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Received:
    pass


@dataclass(frozen=True, slots=True)
class Decision:
    decision: str


@dataclass(frozen=True, slots=True)
class Closed:
    pass


Payload = CaseFacts | Referred | Received | Decision | Closed


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    event_type: EventType
    force: str
    case_id: str
    occurred_at_us: int
    payload: Payload
