"""The wire contract's strictness (docs/contract.md sections 1 and 2) and its JSON Schema files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from refmon.schemas import event_adapter
from refmon.schemas.export import schema_files
from refmon.schemas.rejections import Rejection
from refmon.streams.wire.decode import decode

from tests.factories import allegation, closed, facts, recorded, referred

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "json"
GOOD = recorded("2026-04-01T09:00:00+01:00", categories=["serious_assault"])


def rejection(raw: dict[str, Any] | str | bytes) -> Rejection:
    data = (
        raw
        if isinstance(raw, bytes)
        else (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    )
    result = decode(event_adapter(), data)
    assert isinstance(result, Rejection), f"accepted: {result}"
    return result


def with_(path: str, value: Any, base: dict[str, Any] = GOOD) -> dict[str, Any]:
    event = copy.deepcopy(base)
    *parents, last = path.split(".")
    node: Any = event
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[last] = value
    return event


def test_a_well_formed_event_is_accepted() -> None:
    event = event_adapter().validate_json(json.dumps(GOOD))
    assert event.force == "DUR"
    assert event.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("event", "code", "mentions"),
    [
        (with_("schema_version", 2), "unsupported_schema_version", "schema_version"),
        (with_("schema_version", "1"), "unsupported_schema_version", "schema_version"),
        (with_("event_id", "has space"), "invalid_value", "event_id"),
        (with_("event_id", "x" * 65), "invalid_value", "event_id"),
        (with_("event_type", "case.deleted"), "unknown_event_type", "event_type"),
        (with_("force", "NOPE"), "unknown_force", "NOPE"),
        (with_("force", "mps"), "unknown_force", "force"),
        (with_("case_id", "a b"), "invalid_value", "case_id"),
        (with_("occurred_at", "2026-04-01T09:00:00"), "naive_timestamp", "offset"),
        (with_("occurred_at", "2026-04-01"), "bad_timestamp", "occurred_at"),
        (with_("occurred_at", "2026-02-30T09:00:00Z"), "bad_timestamp", "occurred_at"),
        (with_("occurred_at", 1775030400), "bad_timestamp", "occurred_at"),
        (with_("extra", 1), "unknown_field", "extra"),
        (with_("payload.colour", "red"), "unknown_field", "payload.colour"),
        (with_("payload.allegations.0.note", "x"), "unknown_field", "payload.allegations.0.note"),
        (with_("payload.harm", "bruise"), "invalid_value", "payload.harm"),
        (with_("payload.case_kind", "grievance"), "invalid_value", "payload.case_kind"),
        (with_("payload.allegations.0.category", "rudeness"), "invalid_value", "category"),
        (
            with_("payload.allegations.0.offence_max_sentence_years", -1),
            "invalid_value",
            "offence_max_sentence_years",
        ),
        (
            with_("payload.allegations.0.offence_max_sentence_years", True),
            "invalid_value",
            "offence_max_sentence_years",
        ),
        (
            with_("payload.allegations.0.aggravated_by_discrimination", "yes"),
            "invalid_value",
            "aggravated",
        ),
        (with_("payload.allegations", []), "invalid_value", "at least 1"),
        (
            with_("payload.allegations", [allegation() for _ in range(51)]),
            "invalid_value",
            "allegations",
        ),
        (with_("payload.linked_case_ids", ["ok", "not ok"]), "invalid_value", "linked_case_ids.1"),
        (with_("payload.force_assessment.criteria", ["gut_feeling"]), "invalid_value", "criteria"),
        (
            with_("payload", facts() | {"force_assessment": {"mandatory": True}}),
            "missing_field",
            "force_assessment.criteria",
        ),
        (with_("payload", {}, referred("2026-04-01T09:00:00Z")), "missing_field", "referral_kind"),
        (with_("payload", {"x": 1}, closed("2026-04-01T09:00:00Z")), "unknown_field", "payload.x"),
    ],
)
def test_contract_violations_are_rejected_with_a_reason_naming_the_field(
    event: dict[str, Any], code: str, mentions: str
) -> None:
    why = rejection(event)
    assert why.code == code
    assert mentions in why.message


def test_a_dsi_matter_may_have_no_allegations() -> None:
    event = recorded("2026-04-01T09:00:00Z", kind="dsi_matter", harm="death", allegations=[])
    assert event_adapter().validate_json(json.dumps(event)).payload.allegations == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"text"', "not_object"),
        (b"\xff\xfe{}", "invalid_utf8"),
        (b"{}", "missing_field"),
    ],
)
def test_input_that_is_not_an_event_object_is_rejected(raw: bytes, code: str) -> None:
    assert rejection(raw).code == code


def test_rejection_messages_never_quote_the_payload() -> None:
    event = with_("payload.allegations.0.allegation_id", "Jane Smith 1 High St")
    assert "Jane" not in rejection(event).message


def test_committed_json_schemas_are_current() -> None:
    for name, text in schema_files().items():
        path = SCHEMA_DIR / name
        assert path.is_file(), f"{name} missing: run `refmon schema export`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `refmon schema export`"
        )


def test_json_schema_agrees_with_the_models_on_examples() -> None:
    schema = json.loads((SCHEMA_DIR / "event.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert validator.is_valid(GOOD)
    assert validator.is_valid(closed("2026-04-01T09:00:00Z"))
    for bad in (
        with_("force", "NOPE"),
        with_("extra", 1),
        with_("occurred_at", "2026-04-01T09:00:00"),
        with_("payload.harm", "bruise"),
        with_("event_type", "case.deleted"),
    ):
        assert not validator.is_valid(bad), bad
