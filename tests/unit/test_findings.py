"""Each finding kind (docs/contract.md section 8), how it opens and what resolves it."""

from __future__ import annotations

import json

from refmon.streams.engine.findings import finding_id
from refmon.streams.engine.timeutil import format_utc

from tests.factories import (
    closed,
    engine_event,
    finding,
    judge,
    micros,
    open_kinds,
    received,
    recorded,
    referred,
    updated,
)

DUTY = "2026-02-02T10:00:00Z"  # due before 2026-02-04T00:00:00Z
SERIOUS = {"categories": ["serious_assault"]}
LATER = "2026-02-03T09:00:00Z"


def test_missed_referral_opens_at_the_deadline_with_the_contract_fields() -> None:
    engine = judge([recorded(DUTY, **SERIOUS)], as_of="2026-02-04T00:00:00Z")
    f = finding(engine, "missed_referral")
    assert f.status == "open"
    assert f.criteria == ("serious_assault",)
    assert format_utc(f.duty_arose_at) == DUTY
    assert format_utc(f.deadline) == "2026-02-04T00:00:00Z"
    assert format_utc(f.detected_at) == "2026-02-04T00:00:00Z"
    assert f.finding_id == finding_id("missed_referral", "DUR", "c1")
    assert "DUR case c1" in f.summary
    assert "2026-02-04 00:00 GMT" in f.summary


def test_no_missed_referral_before_the_deadline() -> None:
    engine = judge([recorded(DUTY, **SERIOUS)], as_of="2026-02-03T23:59:59Z")
    assert open_kinds(engine) == set()


def test_a_late_receipt_resolves_the_missed_referral_and_opens_a_late_one() -> None:
    engine = judge([recorded(DUTY, **SERIOUS)], as_of="2026-02-05T00:00:00Z")
    assert open_kinds(engine) == {"missed_referral"}
    engine = judge([recorded(DUTY, **SERIOUS), received("2026-02-05T09:00:00Z")])
    assert open_kinds(engine) == {"late_referral"}
    assert format_utc(finding(engine, "late_referral").detected_at) == "2026-02-05T09:00:00Z"
    assert finding(engine, "missed_referral").status == "resolved"


def test_an_earlier_receipt_arriving_last_resolves_a_missed_referral_opened_early() -> None:
    engine = judge([recorded(DUTY, **SERIOUS), recorded("2026-03-01T00:00:00Z", case="c2")])
    assert open_kinds(engine) == {"missed_referral"}
    engine.apply(_engine_event(received("2026-02-02T12:00:00Z")))
    assert open_kinds(engine) == set()
    assert finding(engine, "missed_referral").status == "resolved"


def test_the_referral_time_is_the_receipt_when_there_is_one_not_the_claim() -> None:
    engine = judge(
        [
            recorded(DUTY, **SERIOUS),
            referred("2026-02-03T09:00:00Z"),
            received("2026-02-04T01:00:00Z"),
        ]
    )
    assert "late_referral" in open_kinds(engine)
    engine = judge([recorded(DUTY, **SERIOUS), referred("2026-02-03T09:00:00Z")])
    assert open_kinds(engine) == set()  # the claim alone counts while unconfirmed


def test_unconfirmed_referral_opens_48_hours_after_an_unconfirmed_claim() -> None:
    events = [recorded(DUTY, **SERIOUS), referred("2026-02-02T12:00:00Z")]
    assert open_kinds(judge(events, as_of="2026-02-04T11:59:59Z")) == set()
    engine = judge(events, as_of="2026-02-04T12:00:00Z")
    assert open_kinds(engine) == {"unconfirmed_referral"}
    assert format_utc(finding(engine, "unconfirmed_referral").detected_at) == "2026-02-04T12:00:00Z"


def test_a_receipt_within_48_hours_confirms_the_claim() -> None:
    engine = judge(
        [
            recorded(DUTY, **SERIOUS),
            referred("2026-02-02T12:00:00Z"),
            received("2026-02-04T12:00:00Z"),
        ],
        as_of="2026-03-01T00:00:00Z",
    )
    assert "unconfirmed_referral" not in open_kinds(engine)


def test_a_receipt_after_48_hours_leaves_the_claim_unconfirmed_and_the_referral_late() -> None:
    engine = judge(
        [
            recorded(DUTY, **SERIOUS),
            referred("2026-02-02T12:00:00Z"),
            received("2026-02-04T12:00:01Z"),
        ]
    )
    assert open_kinds(engine) == {"unconfirmed_referral", "late_referral"}


def test_assessment_mismatch_follows_the_latest_facts() -> None:
    engine = judge([recorded(DUTY, assessed=False, **SERIOUS)])
    assert open_kinds(engine) == {"assessment_mismatch"}
    engine = judge(
        [
            recorded(DUTY, assessed=False, **SERIOUS),
            updated("2026-02-02T11:00:00Z", assessed=True, **SERIOUS),
            received("2026-02-02T12:00:00Z"),
        ]
    )
    assert open_kinds(engine) == set()
    assert finding(engine, "assessment_mismatch").status == "resolved"


def test_downgraded_after_duty_when_the_latest_facts_meet_no_criterion() -> None:
    engine = judge(
        [
            recorded(DUTY, **SERIOUS),
            received("2026-02-02T12:00:00Z"),
            updated("2026-02-10T00:00:00Z", categories=["use_of_force"]),
        ]
    )
    assert open_kinds(engine) == {"downgraded_after_duty"}
    f = finding(engine, "downgraded_after_duty")
    assert format_utc(f.detected_at) == "2026-02-10T00:00:00Z"
    assert f.criteria == ("serious_assault",)
    snap = engine.snapshot("DUR", "c1")
    assert snap is not None
    assert snap.duty_arose_at == micros(DUTY)


def test_closed_without_referral() -> None:
    engine = judge([recorded(DUTY, **SERIOUS), closed("2026-02-03T00:00:00Z")])
    assert open_kinds(engine) == {"closed_without_referral"}
    engine = judge(
        [
            recorded(DUTY, **SERIOUS),
            closed("2026-02-03T00:00:00Z"),
            referred("2026-02-03T01:00:00Z"),
        ]
    )
    assert "closed_without_referral" not in open_kinds(engine)


def test_a_voluntary_referral_is_never_a_finding() -> None:
    engine = judge(
        [
            recorded(DUTY),
            referred("2026-02-09T00:00:00Z", kind="voluntary"),
            closed("2026-03-01T00:00:00Z"),
        ],
        as_of="2026-06-01T00:00:00Z",
    )
    assert list(engine.findings()) == []


def test_the_duty_arises_at_the_update_that_first_meets_a_criterion() -> None:
    engine = judge(
        [recorded(DUTY), updated("2026-02-06T18:00:00Z", **SERIOUS)], as_of="2026-02-08T00:00:00Z"
    )
    f = finding(engine, "missed_referral")
    assert format_utc(f.duty_arose_at) == "2026-02-06T18:00:00Z"
    assert format_utc(f.deadline) == "2026-02-08T00:00:00Z"


def test_events_before_the_case_is_recorded_are_held_and_applied_when_it_is() -> None:
    engine = judge([received("2026-02-05T00:00:00Z"), closed("2026-02-06T00:00:00Z")])
    assert list(engine.findings()) == []
    assert engine.pending_count() == 1
    engine.apply(_engine_event(recorded(DUTY, **SERIOUS)))
    assert open_kinds(engine) == {"late_referral"}
    assert engine.pending_count() == 0


def test_a_repeated_event_with_the_same_content_is_a_duplicate() -> None:
    first = recorded(DUTY, **SERIOUS)
    again = json.loads(json.dumps(first))
    again["occurred_at"] = "2026-02-02T11:00:00+01:00"  # the same instant, another offset
    assert micros(again["occurred_at"]) == micros(first["occurred_at"])
    engine = judge([first, again])
    assert (engine.valid, engine.duplicate) == (1, 1)


def test_the_same_id_from_one_source_with_other_content_is_a_conflict_and_changes_nothing() -> None:
    first = recorded(DUTY, **SERIOUS)
    second = {**recorded(DUTY), "event_id": first["event_id"]}
    engine = judge([first])
    before = list(engine.findings())
    applied = engine.apply(engine_event(second))
    assert applied.outcome == "conflict"
    assert (engine.valid, engine.duplicate) == (1, 0)
    assert list(engine.findings()) == before
    snap = engine.snapshot("DUR", "c1")
    assert snap is not None
    assert snap.criteria == ("serious_assault",)


def test_one_forces_event_ids_never_hide_another_forces_events() -> None:
    mps = recorded(DUTY, case="m1", force="MPS", **SERIOUS)
    dur = {**closed(LATER, case="d1", force="DUR"), "event_id": mps["event_id"]}
    engine = judge([dur, mps])
    assert (engine.valid, engine.duplicate) == (2, 0)
    snap = engine.snapshot("MPS", "m1")
    assert snap is not None
    assert snap.criteria == ("serious_assault",)


def test_the_watchdogs_ids_are_one_namespace_across_forces() -> None:
    receipt = received(LATER, case="c1", force="DUR")
    elsewhere = {**received(LATER, case="c9", force="MPS"), "event_id": receipt["event_id"]}
    force_event = {**closed(LATER, case="c1", force="DUR"), "event_id": receipt["event_id"]}
    engine = judge([receipt, force_event])
    assert (engine.valid, engine.duplicate) == (2, 0)  # a force's id never hides the watchdog's
    assert engine.apply(engine_event(elsewhere)).outcome == "conflict"


def test_same_incident_makes_a_linked_case_mandatory_from_the_other_cases_own_duty() -> None:
    engine = judge(
        [
            recorded("2026-02-01T09:00:00Z", case="a", linked=["b"]),
            recorded("2026-02-02T10:00:00Z", case="b", **SERIOUS),
        ]
    )
    a, b = engine.snapshot("DUR", "a"), engine.snapshot("DUR", "b")
    assert a is not None
    assert b is not None
    assert a.criteria == ("same_incident",)
    assert a.duty_arose_at == micros("2026-02-02T10:00:00Z")
    assert b.criteria == ("serious_assault",)


def test_same_incident_is_one_hop_and_follows_the_declared_direction() -> None:
    engine = judge(
        [
            recorded(DUTY, case="a", linked=["b"]),  # a -> b
            recorded(DUTY, case="b", linked=["c"]),  # b -> c
            recorded(DUTY, case="c", **SERIOUS),
            recorded(DUTY, case="d", linked=["x"]),
            recorded(DUTY, case="x", linked=["d"], **SERIOUS),
        ]
    )
    crit = {c: engine.snapshot("DUR", c).criteria for c in "abcdx"}  # type: ignore[union-attr]
    assert crit == {
        "a": (),
        "b": ("same_incident",),
        "c": ("serious_assault",),
        "d": ("same_incident",),
        "x": ("serious_assault",),
    }


def test_same_incident_only_while_the_link_is_declared() -> None:
    engine = judge(
        [
            recorded("2026-02-01T00:00:00Z", case="a", linked=["b"]),
            updated("2026-02-01T12:00:00Z", case="a", linked=[]),
            recorded("2026-02-02T00:00:00Z", case="b", **SERIOUS),
        ]
    )
    snap = engine.snapshot("DUR", "a")
    assert snap is not None
    assert snap.duty_arose_at is None


def test_same_incident_needs_the_linked_case_in_the_same_force() -> None:
    engine = judge(
        [
            recorded(DUTY, case="a", linked=["b"]),
            recorded(DUTY, case="b", force="MPS", **SERIOUS),
        ]
    )
    snap = engine.snapshot("DUR", "a")
    assert snap is not None
    assert snap.duty_arose_at is None


def _engine_event(raw: dict[str, object]) -> object:
    import json

    from refmon.schemas import event_adapter
    from refmon.streams.wire.translate import to_engine_event

    return to_engine_event(event_adapter().validate_json(json.dumps(raw)))
