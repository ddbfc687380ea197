"""The v1 envelope, one model per event type, joined as a union tagged by `event_type`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter
from refmon.schemas.payloads import (
    CaseFactsPayload,
    DecisionPayload,
    EmptyPayload,
    OutlierCheckedPayload,
    OutlierClosedPayload,
    OutlierReviewedPayload,
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


class OutlierChecked(Envelope):
    """The watchdog checked an outlier's data (docs/contract.md section 14); `case_id` is the
    outlier's id, as for every outlier action."""

    event_type: Literal["outlier.checked"]
    payload: OutlierCheckedPayload


class OutlierNotified(Envelope):
    event_type: Literal["outlier.notified"]
    payload: EmptyPayload


class OutlierResponded(Envelope):
    event_type: Literal["outlier.responded"]
    payload: EmptyPayload


class OutlierReviewed(Envelope):
    event_type: Literal["outlier.reviewed"]
    payload: OutlierReviewedPayload


class OutlierActionPlan(Envelope):
    event_type: Literal["outlier.action_plan"]
    payload: EmptyPayload


class OutlierClosed(Envelope):
    event_type: Literal["outlier.closed"]
    payload: OutlierClosedPayload


OUTLIER_MODELS = (
    OutlierChecked,
    OutlierNotified,
    OutlierResponded,
    OutlierReviewed,
    OutlierActionPlan,
    OutlierClosed,
)

EVENT_MODELS = (
    CaseRecorded,
    CaseUpdated,
    CaseReferred,
    ReferralReceived,
    ReferralDecision,
    CaseClosed,
    *OUTLIER_MODELS,
)

AnyEvent = Annotated[
    CaseRecorded
    | CaseUpdated
    | CaseReferred
    | ReferralReceived
    | ReferralDecision
    | CaseClosed
    | OutlierChecked
    | OutlierNotified
    | OutlierResponded
    | OutlierReviewed
    | OutlierActionPlan
    | OutlierClosed,
    Field(discriminator="event_type"),
]

EventAdapter = TypeAdapter[AnyEvent]


def event_adapter() -> EventAdapter:
    """Build the validator (a few milliseconds: call once, at start-up, not at import)."""
    return TypeAdapter(AnyEvent)
