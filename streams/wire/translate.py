"""The one translation from validated wire models to engine inputs.

Both runners call `to_engine_event` (the embedded runner per line, the
worker's intake per input message), so the two paths cannot read an event
differently.
"""

from __future__ import annotations

from refmon.schemas.events import (
    AnyEvent,
    CaseClosed,
    CaseRecorded,
    CaseReferred,
    CaseUpdated,
    OutlierChecked,
    OutlierClosed,
    OutlierReviewed,
    ReferralDecision,
    ReferralReceived,
)
from refmon.schemas.payloads import CaseFactsPayload
from refmon.streams.engine import (
    Allegation,
    CaseFacts,
    Closed,
    Decision,
    Event,
    OutlierStep,
    Payload,
    Received,
    Referred,
)
from refmon.streams.engine.timeutil import to_micros


def _facts(payload: CaseFactsPayload) -> CaseFacts:
    return CaseFacts(
        case_kind=payload.case_kind,
        harm=payload.harm,
        allegations=tuple(
            Allegation(
                a.allegation_id,
                a.category,
                a.aggravated_by_discrimination,
                a.offence_max_sentence_years,
            )
            for a in payload.allegations
        ),
        subject_is_chief_officer=payload.subject_is_chief_officer,
        linked_case_ids=tuple(payload.linked_case_ids),
        assessed_mandatory=payload.force_assessment.mandatory,
        assessed_criteria=tuple(payload.force_assessment.criteria),
    )


def _payload(event: AnyEvent) -> Payload:
    if isinstance(event, CaseRecorded | CaseUpdated):
        return _facts(event.payload)
    if isinstance(event, CaseReferred):
        return Referred(event.payload.referral_kind, tuple(event.payload.criteria))
    if isinstance(event, ReferralReceived):
        return Received()
    if isinstance(event, ReferralDecision):
        return Decision(event.payload.decision)
    if isinstance(event, CaseClosed):
        return Closed()
    if isinstance(event, OutlierChecked | OutlierReviewed):
        return OutlierStep(event.payload.outcome)
    if isinstance(event, OutlierClosed):
        return OutlierStep(event.payload.reason)
    if event.event_type.startswith("outlier."):
        return OutlierStep()
    raise TypeError(f"no translation for {type(event).__name__}")


def to_engine_event(event: AnyEvent) -> Event:
    return Event(
        event_id=event.event_id,
        event_type=event.event_type,
        force=event.force,
        case_id=event.case_id,
        occurred_at_us=to_micros(event.occurred_at),
        payload=_payload(event),
    )
