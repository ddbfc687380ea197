"""Every finding carries its evidence (docs/contract.md section 8): the ruleset and the events."""

from __future__ import annotations

from tests.factories import (
    event,
    facts,
    finding,
    judge,
    received,
    recorded,
    referred,
    updated,
)

DUTY = "2026-02-02T10:00:00Z"  # due before 2026-02-04T00:00:00Z
SERIOUS = {"categories": ["serious_assault"]}
AFTER_DEADLINE = "2026-02-04T00:00:00Z"


def test_a_missed_referral_names_the_ruleset_and_the_event_whose_facts_met_a_criterion() -> None:
    first = recorded(DUTY, **SERIOUS)
    f = finding(judge([first], as_of=AFTER_DEADLINE), "missed_referral")
    assert (f.ruleset, f.duty_event_id, f.referral_event_id) == (
        "ew-2020.1",
        first["event_id"],
        None,
    )


def test_a_case_that_becomes_mandatory_on_an_update_names_the_update() -> None:
    first = recorded("2026-02-01T09:00:00Z")
    escalation = updated(DUTY, **SERIOUS)
    later = updated("2026-02-02T12:00:00Z", **SERIOUS)
    for order in ([first, escalation, later], [later, escalation, first]):
        f = finding(judge(order, as_of=AFTER_DEADLINE), "missed_referral")
        assert f.duty_event_id == escalation["event_id"]


def test_a_duty_through_same_incident_alone_names_this_cases_event_that_made_the_link() -> None:
    linking = recorded("2026-02-01T09:00:00Z", case="c2", linked=["c1"])
    other = recorded(DUTY, case="c1", **SERIOUS)
    f = finding(judge([linking, other], as_of=AFTER_DEADLINE), "missed_referral", case="c2")
    assert f.criteria == ("same_incident",)
    assert f.duty_event_id == linking["event_id"]


def test_the_referral_event_is_the_earliest_receipt_even_when_a_claim_came_first() -> None:
    claim = referred("2026-02-03T09:00:00Z")
    receipt = received("2026-02-04T01:00:00Z")
    later_receipt = received("2026-02-04T02:00:00Z")
    f = finding(judge([recorded(DUTY, **SERIOUS), later_receipt, claim, receipt]), "late_referral")
    assert f.referral_event_id == receipt["event_id"]


def test_without_a_receipt_the_referral_event_is_the_earliest_claim() -> None:
    claim = referred("2026-02-05T09:00:00Z")
    f = finding(judge([recorded(DUTY, **SERIOUS), claim]), "late_referral")
    assert f.referral_event_id == claim["event_id"]


def test_receipts_at_the_same_instant_name_the_smallest_event_id_whatever_the_order() -> None:
    at = "2026-02-05T09:00:00Z"
    b = event("referral.received", at, event_id="rcv-b")
    a = event("referral.received", at, event_id="rcv-a")
    for order in ([a, b], [b, a]):
        f = finding(judge([recorded(DUTY, **SERIOUS), *order]), "late_referral")
        assert f.referral_event_id == "rcv-a"


def test_a_referral_arriving_while_a_finding_is_open_updates_its_evidence() -> None:
    first = recorded(DUTY, assessed=False, **SERIOUS)
    receipt = received("2026-02-02T11:00:00Z")
    engine = judge([first])
    assert finding(engine, "assessment_mismatch").referral_event_id is None
    engine = judge([first, receipt])
    mismatch = finding(engine, "assessment_mismatch")
    assert (mismatch.status, mismatch.referral_event_id) == ("open", receipt["event_id"])


def test_a_fact_version_replacing_another_at_the_same_instant_becomes_the_evidence() -> None:
    first = recorded(DUTY, **SERIOUS)
    same_instant = event(
        "case.updated", DUTY, payload=facts(categories=["serious_sexual_offence"]), event_id="u1"
    )
    f = finding(judge([first, same_instant], as_of=AFTER_DEADLINE), "missed_referral")
    assert f.duty_event_id == "u1"
    assert f.criteria == ("serious_sexual_offence",)
