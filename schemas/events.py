"""The v1 envelope, one model per event type, joined as a union tagged by `event_type`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter
from refmon.schemas.payloads import (
    CaseFactsPayload,
    DecisionPayload,
    EmptyPayload,
    ReferredPayload,
    Strict,
)
from refmon.schemas.types import CaseRef, EventId, ForceCode, SchemaVersion, Timestamp


class Envelope(Strict):
    schema_version: SchemaVersion
    event_id: EventId
    force: ForceCode
    case_id: CaseRef
    occurred_at: Timestamp


class CaseRecorded(Envelope):
    event_type: Literal["case.recorded"]
    payload: CaseFactsPayload


class CaseUpdated(Envelope):
    event_type: Literal["case.updated"]
    payload: CaseFactsPayload


class CaseReferred(Envelope):
    event_type: Literal["case.referred"]
    payload: ReferredPayload


class ReferralReceived(Envelope):
    event_type: Literal["referral.received"]
    payload: EmptyPayload


class ReferralDecision(Envelope):
    event_type: Literal["referral.decision"]
    payload: DecisionPayload


class CaseClosed(Envelope):
    event_type: Literal["case.closed"]
    payload: EmptyPayload


EVENT_MODELS = (
    CaseRecorded,
    CaseUpdated,
    CaseReferred,
    ReferralReceived,
    ReferralDecision,
    CaseClosed,
)

AnyEvent = Annotated[
    CaseRecorded | CaseUpdated | CaseReferred | ReferralReceived | ReferralDecision | CaseClosed,
    Field(discriminator="event_type"),
]

EventAdapter = TypeAdapter[AnyEvent]


def event_adapter() -> EventAdapter:
    """Build the validator (a few milliseconds: call once, at start-up, not at import)."""
    return TypeAdapter(AnyEvent)
