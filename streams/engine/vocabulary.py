"""The closed vocabularies of event contract v1 (docs/contract.md sections 2 and 3).

Kept here, in the standard-library-only engine, so that the wire schemas and the
ruleset validator draw on one list.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

CaseKind = Literal["complaint", "conduct_matter", "dsi_matter"]
Harm = Literal["none", "injury", "serious_injury", "death"]
ReferralKind = Literal["mandatory", "voluntary"]
DecisionKind = Literal["independent", "directed", "local", "referred_back", "no_investigation"]
Category = Literal[
    "delivery_of_duties",
    "police_powers",
    "information_access_disclosure",
    "vehicle_use",
    "property_handling",
    "individual_behaviour",
    "use_of_force",
    "sexual_harassment",
    "discriminatory_behaviour",
    "other",
    "serious_assault",
    "serious_sexual_offence",
    "serious_corruption",
    "abuse_of_position_sexual_purpose",
    "abuse_of_position_emotional_relationship",
]
CriterionId = Literal[
    "dsi",
    "death_or_serious_injury",
    "serious_assault",
    "serious_sexual_offence",
    "serious_corruption",
    "discrimination_aggravated",
    "relevant_offence",
    "chief_officer",
    "same_incident",
]
FindingKind = Literal[
    "missed_referral",
    "late_referral",
    "assessment_mismatch",
    "downgraded_after_duty",
    "closed_without_referral",
    "unconfirmed_referral",
    "deterioration",
]

WATCHDOG_EVENT_TYPES: Final = frozenset({"referral.received", "referral.decision"})
"""The watchdog sends these; forces send every other type."""
WATCHDOG_SCOPE: Final = "watchdog"
"""The watchdog's event-id namespace (force codes are upper case, so never this)."""

CASE_KINDS: Final = frozenset(get_args(CaseKind))
HARMS: Final = frozenset(get_args(Harm))
CATEGORIES: Final = frozenset(get_args(Category))
CRITERION_IDS: Final = frozenset(get_args(CriterionId))
FINDING_KINDS: Final[tuple[FindingKind, ...]] = get_args(FindingKind)
FORCE_FINDING_KINDS: Final[tuple[FindingKind, ...]] = ("deterioration",)
"""Findings about a force as a whole (no case), derived from the cross-force report."""
CASE_FINDING_KINDS: Final[tuple[FindingKind, ...]] = tuple(
    k for k in FINDING_KINDS if k not in FORCE_FINDING_KINDS
)
"""Findings about one case, opened and resolved as its events arrive."""
DECISION_KINDS: Final[tuple[DecisionKind, ...]] = get_args(DecisionKind)
RETURNED_DECISIONS: Final = frozenset({"referred_back", "no_investigation"})
"""Decisions that say the watchdog did not need the referral (docs/contract.md section 12)."""
