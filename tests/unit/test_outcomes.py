"""Referral outcomes (docs/contract.md section 12): each case's decision, counted by referral
time."""

from __future__ import annotations

import json
from typing import Any

from refmon.streams.engine import Engine
from refmon.streams.wire.encode import dumps_report

from tests.factories import decision, event, judge, received, recorded, referred

SERIOUS = {"categories": ["serious_assault"]}


def _dur(engine: Engine) -> dict[str, Any]:
    report = json.loads(dumps_report(engine.report(365)))
    return next(r for r in report["forces"] if r["force"] == "DUR")


def test_a_case_counts_its_latest_decision_by_event_time_whatever_the_arrival_order() -> None:
    events = [
        recorded("2026-02-02T10:00:00Z", **SERIOUS),
        received("2026-02-02T12:00:00Z"),
        decision("2026-02-10T00:00:00Z", decision="no_investigation"),
        decision("2026-02-05T00:00:00Z", decision="independent"),
    ]
    for order in (events, events[::-1]):
        row = _dur(judge(order))
        assert row["decisions"] == {
            "independent": 0,
            "directed": 0,
            "local": 0,
            "referred_back": 0,
            "no_investigation": 1,
        }
        assert (row["decided"], row["returned"], row["returned_share"]) == (1, 1, 1.0)


def test_decisions_at_the_same_instant_go_to_the_greatest_event_id() -> None:
    at = "2026-02-05T00:00:00Z"
    a = event("referral.decision", at, payload={"decision": "referred_back"}, event_id="dec-a")
    b = event("referral.decision", at, payload={"decision": "local"}, event_id="dec-b")
    base = [recorded("2026-02-02T10:00:00Z", **SERIOUS), received("2026-02-02T12:00:00Z")]
    for order in ([a, b], [b, a]):
        row = _dur(judge([*base, *order]))
        assert (row["decisions"]["local"], row["returned"]) == (1, 0)


def test_voluntary_referrals_count_and_undecided_or_unreferred_cases_do_not() -> None:
    events = [
        # A voluntary referral (never mandatory), sent back.
        recorded("2026-02-01T10:00:00Z", case="v"),
        referred("2026-02-01T11:00:00Z", case="v", kind="voluntary"),
        decision("2026-02-03T00:00:00Z", case="v", decision="referred_back"),
        # Referred but not yet decided.
        recorded("2026-02-01T10:00:00Z", case="u", **SERIOUS),
        received("2026-02-01T12:00:00Z", case="u"),
        # A decision with no referral in the window: nothing to count it against.
        recorded("2026-02-01T10:00:00Z", case="n"),
        decision("2026-02-03T00:00:00Z", case="n", decision="local"),
        # A decision for a case never recorded: held, not judged.
        decision("2026-02-03T00:00:00Z", case="ghost", decision="local"),
    ]
    engine = judge(events)
    row = _dur(engine)
    assert (row["decided"], row["returned"], row["decisions"]["referred_back"]) == (1, 1, 1)
    assert engine.pending_count() == 1


def test_the_window_is_by_referral_time() -> None:
    events = [
        recorded("2025-01-10T10:00:00Z", case="old", **SERIOUS),
        received("2025-01-10T12:00:00Z", case="old"),
        decision("2025-03-01T00:00:00Z", case="old", decision="no_investigation"),
        recorded("2026-02-01T10:00:00Z", case="new", **SERIOUS),
        received("2026-02-01T12:00:00Z", case="new"),
        decision("2026-02-20T00:00:00Z", case="new", decision="directed"),
    ]
    row = _dur(judge(events))
    assert (row["decided"], row["returned"], row["decisions"]["directed"]) == (1, 0, 1)
    assert row["returned_share_status"] == "insufficient_data"
    assert row["returned_share_z"] is None
