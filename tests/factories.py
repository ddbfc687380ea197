"""Factories for wire events (plain dicts, as integrators send them) and a judged engine."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from refmon.schemas import EventAdapter, event_adapter
from refmon.schemas.types import parse_timestamp
from refmon.streams.engine import Engine, Event
from refmon.streams.engine.timeutil import to_micros
from refmon.streams.wire.translate import to_engine_event

from refmon import bootstrap

_ids = itertools.count(1)


def allegation(category: str = "other", **extra: Any) -> dict[str, Any]:
    return {"allegation_id": f"a{next(_ids)}", "category": category, **extra}


def facts(
    *,
    kind: str = "complaint",
    harm: str = "none",
    categories: Iterable[str] = ("other",),
    allegations: list[dict[str, Any]] | None = None,
    chief: bool | None = None,
    linked: list[str] | None = None,
    assessed: bool = True,
    criteria: list[str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "case_kind": kind,
        "harm": harm,
        "allegations": allegations
        if allegations is not None
        else [allegation(c) for c in categories],
        "force_assessment": {"mandatory": assessed, "criteria": criteria or []},
    }
    if chief is not None:
        payload["subject_is_chief_officer"] = chief
    if linked is not None:
        payload["linked_case_ids"] = linked
    return payload


def event(
    event_type: str,
    at: str,
    *,
    case: str = "c1",
    force: str = "DUR",
    payload: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "event_id": event_id or f"ev-{next(_ids)}",
        "event_type": event_type,
        "force": force,
        "case_id": case,
        "occurred_at": at,
        "payload": {} if payload is None else payload,
    }


def recorded(at: str, case: str = "c1", force: str = "DUR", **kw: Any) -> dict[str, Any]:
    return event("case.recorded", at, case=case, force=force, payload=facts(**kw))


def updated(at: str, case: str = "c1", force: str = "DUR", **kw: Any) -> dict[str, Any]:
    return event("case.updated", at, case=case, force=force, payload=facts(**kw))


def referred(
    at: str, case: str = "c1", force: str = "DUR", kind: str = "mandatory"
) -> dict[str, Any]:
    return event(
        "case.referred", at, case=case, force=force, payload={"referral_kind": kind, "criteria": []}
    )


def received(at: str, case: str = "c1", force: str = "DUR") -> dict[str, Any]:
    return event("referral.received", at, case=case, force=force)


def decision(
    at: str, case: str = "c1", force: str = "DUR", decision: str = "local"
) -> dict[str, Any]:
    return event("referral.decision", at, case=case, force=force, payload={"decision": decision})


def closed(at: str, case: str = "c1", force: str = "DUR") -> dict[str, Any]:
    return event("case.closed", at, case=case, force=force)


def judge(events: Iterable[dict[str, Any]], as_of: str | None = None) -> Engine:
    """Validate each event as the runner does, apply it, and advance to `as_of`."""
    wiring = bootstrap.build()
    for raw in events:
        _apply(wiring.engine, raw)
    if as_of is not None:
        wiring.engine.advance(micros(as_of))
    return wiring.engine


def _apply(engine: Engine, raw: dict[str, Any]) -> None:
    engine.apply(engine_event(raw))


def engine_event(raw: dict[str, Any]) -> Event:
    """A wire event as the engine receives it, validated as the runners validate it."""
    return to_engine_event(_adapter().validate_json(json.dumps(raw)))


@cache
def _adapter() -> EventAdapter:
    return event_adapter()


def micros(text: str) -> int:
    return to_micros(parse_timestamp(text))


def open_kinds(engine: Engine, case: str = "c1", force: str = "DUR") -> set[str]:
    return {
        f.kind
        for f in engine.findings()
        if f.status == "open" and f.case_id == case and f.force == force
    }


def finding(engine: Engine, kind: str, case: str = "c1", force: str = "DUR") -> Any:
    matches = [
        f for f in engine.findings() if f.kind == kind and f.case_id == case and f.force == force
    ]
    assert len(matches) == 1, f"expected one {kind} finding, got {matches}"
    return matches[0]
