"""Each mandatory-referral criterion of ew-2020.1 (docs/contract.md section 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import allegation, judge, micros, recorded

AT = "2026-05-01T10:00:00Z"


def criteria_of(**facts: Any) -> tuple[str, ...] | None:
    engine = judge([recorded(AT, **facts)])
    snap = engine.snapshot("DUR", "c1")
    assert snap is not None
    if snap.duty_arose_at is None:
        return None
    assert snap.duty_arose_at == micros(AT)
    return snap.criteria


@pytest.mark.parametrize(
    ("facts", "criterion"),
    [
        ({"kind": "dsi_matter", "harm": "death", "allegations": []}, "dsi"),
        ({"kind": "dsi_matter", "harm": "none", "allegations": []}, "dsi"),
        ({"harm": "serious_injury"}, "death_or_serious_injury"),
        ({"kind": "conduct_matter", "harm": "death"}, "death_or_serious_injury"),
        ({"categories": ["serious_assault"]}, "serious_assault"),
        ({"categories": ["serious_sexual_offence"]}, "serious_sexual_offence"),
        ({"categories": ["serious_corruption"]}, "serious_corruption"),
        ({"categories": ["abuse_of_position_sexual_purpose"]}, "serious_corruption"),
        ({"categories": ["abuse_of_position_emotional_relationship"]}, "serious_corruption"),
        (
            {"allegations": [allegation("other", aggravated_by_discrimination=True)]},
            "discrimination_aggravated",
        ),
        ({"allegations": [allegation("other", offence_max_sentence_years=7)]}, "relevant_offence"),
        (
            {"allegations": [allegation("other", offence_max_sentence_years=14.5)]},
            "relevant_offence",
        ),
        ({"chief": True}, "chief_officer"),
    ],
)
def test_each_criterion_makes_a_case_mandatory_from_the_moment_its_facts_meet_it(
    facts: dict[str, Any], criterion: str
) -> None:
    assert criteria_of(**facts) == (criterion,)


@pytest.mark.parametrize(
    "facts",
    [
        {},
        {"harm": "injury"},
        {"categories": ["use_of_force", "sexual_harassment", "discriminatory_behaviour"]},
        {"allegations": [allegation("other", offence_max_sentence_years=6.99)]},
        {"allegations": [allegation("other", offence_max_sentence_years=None)]},
        {"chief": False},
    ],
)
def test_facts_that_meet_no_criterion_leave_the_case_not_mandatory(facts: dict[str, Any]) -> None:
    assert criteria_of(**facts) is None


def test_a_case_meeting_several_criteria_lists_them_all_in_ruleset_order() -> None:
    got = criteria_of(
        harm="death", categories=["serious_corruption", "serious_assault"], chief=True
    )
    assert got == (
        "death_or_serious_injury",
        "serious_assault",
        "serious_corruption",
        "chief_officer",
    )


def test_the_force_assessment_never_decides_whether_a_case_is_mandatory() -> None:
    assert criteria_of(assessed=True, criteria=["serious_assault"]) is None
    assert criteria_of(categories=["serious_assault"], assessed=False) == ("serious_assault",)
