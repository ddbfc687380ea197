"""The closed vocabularies of event contract v1 (docs/contract.md sections 2 and 3).

The contract owns its words: nothing here comes from the processor. The engine
keeps the same lists for itself (standard library only, streams/engine/vocabulary.py);
a test holds the two equal, so a word added to one and not the other fails at once.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CaseKind",
    "Category",
    "CriterionId",
    "DecisionKind",
    "Harm",
    "OutlierCheck",
    "OutlierCloseReason",
    "OutlierReview",
    "ReferralKind",
]

CaseKind = Literal["complaint", "conduct_matter", "dsi_matter"]
Harm = Literal["none", "injury", "serious_injury", "death"]
ReferralKind = Literal["mandatory", "voluntary"]
DecisionKind = Literal["independent", "directed", "local", "referred_back", "no_investigation"]
OutlierCheck = Literal["confirmed", "data_error"]
OutlierReview = Literal["explained", "confirmed"]
OutlierCloseReason = Literal["satisfied", "back_within_limits", "escalated", "withdrawn"]
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
