"""The engine's inputs: plain, frozen values translated from the wire contract.

Times are integers of microseconds since the Unix epoch (UTC): exact, cheap to
compare and small to hold, which matters with a case per complaint nationally.
NamedTuples rather than frozen dataclasses: as immutable, and several times
cheaper to build, which counts once per event.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from refmon.streams.engine.resolves import resolves
from refmon.streams.engine.vocabulary import FindingKind

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


Status = Literal["open", "resolved"]


class Finding(NamedTuple):
    finding_id: str
    kind: FindingKind
    status: Status
    force: str
    case_id: str | None
    """None for a finding about the force as a whole (`deterioration`)."""
    criteria: tuple[str, ...]
    duty_arose_at: int | None
    deadline: int | None
    detected_at: int
    summary: str
    # The evidence (docs/contract.md section 8): what judged it, and the events to look up.
    ruleset: str
    duty_event_id: str | None
    """The fact version in force when the duty arose."""
    referral_event_id: str | None
    """The event giving the referral time (earliest receipt, else earliest claim), if any."""

    @property
    def resolves(self) -> str:
        """What would resolve it: a function of the kind, so not stored (nor compared)."""
        return resolves(self.kind)
