"""Payloads of each event type (docs/contract.md section 2)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from refmon.schemas.types import CaseRef
from refmon.schemas.vocabulary import (
    CaseKind,
    Category,
    CriterionId,
    DecisionKind,
    Harm,
    OutlierCheck,
    OutlierCloseReason,
    OutlierReview,
    ReferralKind,
)

MAX_SENTENCE_YEARS = 100
"""The largest offence_max_sentence_years accepted (life imprisonment fits below it)."""
MAX_LINKED_CASES = 100


class Strict(BaseModel):
    """Unknown fields are errors, values are never coerced, models never change, and numbers
    are finite (JSON parsers accept `Infinity`, `NaN` and `1e400`, which overflows to one)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Allegation(Strict):
    allegation_id: CaseRef
    category: Category
    aggravated_by_discrimination: bool = False
    offence_max_sentence_years: Annotated[float, Field(ge=0, le=MAX_SENTENCE_YEARS)] | None = None


class ForceAssessment(Strict):
    mandatory: bool
    criteria: list[CriterionId]


class CaseFactsPayload(Strict):
    """The case's full current facts, as `case.recorded` and `case.updated` carry them."""

    case_kind: CaseKind
    harm: Harm
    subject_is_chief_officer: bool = False
    allegations: Annotated[list[Allegation], Field(max_length=50)]
    linked_case_ids: Annotated[list[CaseRef], Field(max_length=MAX_LINKED_CASES)] = Field(
        default_factory=list
    )
    force_assessment: ForceAssessment

    @model_validator(mode="after")
    def _allegations_unless_dsi(self) -> Self:
        if not self.allegations and self.case_kind != "dsi_matter":
            raise ValueError("allegations: at least 1 is required unless case_kind is dsi_matter")
        return self


class ReferredPayload(Strict):
    referral_kind: ReferralKind
    criteria: list[CriterionId]


class EmptyPayload(Strict):
    pass


class DecisionPayload(Strict):
    decision: DecisionKind


class OutlierCheckedPayload(Strict):
    outcome: OutlierCheck


class OutlierReviewedPayload(Strict):
    outcome: OutlierReview


class OutlierClosedPayload(Strict):
    reason: OutlierCloseReason
