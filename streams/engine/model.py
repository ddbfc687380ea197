"""The engine's inputs: plain, frozen values translated from the wire contract.

Times are integers of microseconds since the Unix epoch (UTC): exact, cheap to
compare and small to hold, which matters with a case per complaint nationally.
NamedTuples rather than frozen dataclasses: as immutable, and several times
cheaper to build, which counts once per event.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

EventType = Literal[
    "case.recorded",
    "case.updated",
    "case.referred",
    "referral.received",
    "referral.decision",
    "case.closed",
    "outlier.checked",
    "outlier.notified",
    "outlier.responded",
    "outlier.reviewed",
    "outlier.action_plan",
    "outlier.closed",
]


class Allegation(NamedTuple):
    allegation_id: str
    category: str
    aggravated_by_discrimination: bool = False
    offence_max_sentence_years: float | None = None


class CaseFacts(NamedTuple):
    """The full current facts of a case, as a `case.recorded`/`case.updated` carries them."""

    case_kind: str
    harm: str
    allegations: tuple[Allegation, ...]
    subject_is_chief_officer: bool = False
    linked_case_ids: tuple[str, ...] = ()
    assessed_mandatory: bool = False
    assessed_criteria: tuple[str, ...] = ()


class Referred(NamedTuple):
    referral_kind: str
    criteria: tuple[str, ...] = ()


class Received(NamedTuple):
    """The watchdog's intake received a referral; nothing more to say."""


class Decision(NamedTuple):
    decision: str


class Closed(NamedTuple):
    """The force closed the case."""


class OutlierStep(NamedTuple):
    """An outlier action (docs/contract.md section 14): its `outcome` or `reason`, if it has one."""

    detail: str | None = None


Payload = CaseFacts | Referred | Received | Decision | Closed | OutlierStep


class Event(NamedTuple):
    event_id: str
    event_type: EventType
    force: str
    case_id: str
    occurred_at_us: int
    payload: Payload
