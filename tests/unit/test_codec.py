"""The compact delivery encoding: what the validator produced comes back exactly, without it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from refmon.streams.wire.delivery import (
    CodecError,
    Delivery,
    Source,
    decode_delivery,
    encode_delivery,
)

from tests.factories import allegation, engine_event
from tests.property.strategies import event_specs, wire


@settings(max_examples=200, deadline=None)
@given(event_specs())
def test_every_event_survives_the_round_trip_unchanged(events: list[dict[str, Any]]) -> None:
    for n, raw in enumerate(wire(events)):
        delivery = Delivery(Source("DUR", 0, n), engine_event(raw))
        again = decode_delivery(encode_delivery(delivery))
        assert again == delivery
        assert hash(again.event) == hash(delivery.event)  # duplicates are found by content


def test_facts_with_every_field_set_survive_the_round_trip() -> None:
    raw = {
        "schema_version": 1,
        "event_id": "e:1.x-y",
        "event_type": "case.updated",
        "force": "MPS",
        "case_id": "a/b.c-d_e",
        "occurred_at": "2026-03-29T01:30:00.123456+01:00",
        "payload": {
            "case_kind": "conduct_matter",
            "harm": "serious_injury",
            "subject_is_chief_officer": True,
            "allegations": [
                allegation("serious_corruption", aggravated_by_discrimination=True),
                allegation("other", offence_max_sentence_years=7.5),
            ],
            "linked_case_ids": ["x1", "x2"],
            "force_assessment": {"mandatory": False, "criteria": ["chief_officer"]},
        },
    }
    delivery = Delivery(Source("watchdog", 3, 2**40), engine_event(raw))
    assert decode_delivery(encode_delivery(delivery)) == delivery


@pytest.mark.parametrize(
    "data",
    [b"", b"{}", b"[]", b'[2,"DUR",0,1]', b'[1,"DUR",0]', b"\xff", b'[1,"DUR",0,1,"e","x.y"]'],
)
def test_anything_else_is_refused_with_a_codec_error(data: bytes) -> None:
    with pytest.raises(CodecError):
        decode_delivery(data)


def test_the_encoding_is_a_versioned_json_array_any_language_can_read() -> None:
    raw = json.loads(encode_delivery(Delivery(Source("DUR", 0, 5), engine_event(_closed()))))
    assert raw[:4] == [1, "DUR", 0, 5]


def _closed() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "event_id": "c1",
        "event_type": "case.closed",
        "force": "DUR",
        "case_id": "k",
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {},
    }


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("outlier.checked", {"outcome": "data_error"}),
        ("outlier.notified", {}),
        ("outlier.responded", {}),
        ("outlier.reviewed", {"outcome": "explained"}),
        ("outlier.action_plan", {}),
        ("outlier.closed", {"reason": "back_within_limits"}),
    ],
)
def test_outlier_actions_survive_the_round_trip(event_type: str, payload: dict[str, Any]) -> None:
    # Section 14's actions travel from intake to the judges like any other event.
    raw = {
        "schema_version": 1,
        "event_id": "act-1",
        "event_type": event_type,
        "force": "DUR",
        "case_id": "compliance-2025-03",
        "occurred_at": "2025-04-02T09:00:00Z",
        "payload": payload,
    }
    delivery = Delivery(Source("watchdog", 0, 7), engine_event(raw), 1_743_584_400_000_000)
    assert decode_delivery(encode_delivery(delivery)) == delivery


def test_the_watchdogs_outlier_actions_belong_on_its_topic_and_the_forces_on_theirs() -> None:
    from refmon.streams.kafka.topics import WATCHDOG, expected_source

    assert expected_source("outlier.checked", "DUR") == WATCHDOG
    assert expected_source("outlier.closed", "DUR") == WATCHDOG
    assert expected_source("outlier.responded", "DUR") == "DUR"
    assert expected_source("outlier.action_plan", "DUR") == "DUR"
