"""Hypothesis strategies: small worlds of cases whose events collide in time and interact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from tests.factories import allegation, event, facts

# Just before the spring clock change, so deadlines straddle it.
BASE = datetime(2026, 3, 27, tzinfo=UTC)
CASES = ("c1", "c2", "c3")
OFFSETS = (
    UTC,
    timezone(timedelta(hours=1)),
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
)

FACTS = (
    lambda linked: facts(linked=linked),
    lambda linked: facts(categories=["serious_assault"], linked=linked),
    lambda linked: facts(categories=["serious_assault"], assessed=False, linked=linked),
    lambda linked: facts(kind="dsi_matter", harm="death", allegations=[], linked=linked),
    lambda linked: facts(
        allegations=[allegation("other", offence_max_sentence_years=7)], linked=linked
    ),
    lambda linked: facts(harm="injury", assessed=False, linked=linked),
)
DECISIONS = ("independent", "directed", "local", "referred_back", "no_investigation")
TYPES = (
    "case.recorded",
    "case.updated",
    "case.referred",
    "referral.received",
    "referral.decision",
    "case.closed",
)


def render(moment: datetime, offset: timezone) -> str:
    return moment.astimezone(offset).isoformat()


@st.composite
def event_specs(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A list of distinct valid events; `_at` keeps each one's instant for re-rendering."""
    count = draw(st.integers(1, 14))
    events = []
    for index in range(count):
        kind = draw(st.sampled_from(TYPES))
        case = draw(st.sampled_from(CASES))
        # Minutes, with ties likely: same-instant events are where order bugs hide.
        at = BASE + timedelta(minutes=draw(st.integers(0, 8 * 24 * 60 // 90)) * 90)
        force = draw(st.sampled_from(("DUR", "DUR", "MPS")))
        payload: dict[str, Any] = {}
        if kind in ("case.recorded", "case.updated"):
            linked = draw(st.lists(st.sampled_from(CASES), max_size=2, unique=True))
            payload = draw(st.sampled_from(FACTS))(linked)
        elif kind == "case.referred":
            payload = {"referral_kind": "mandatory", "criteria": []}
        elif kind == "referral.decision":
            payload = {"decision": draw(st.sampled_from(DECISIONS))}
        e = event(
            kind,
            render(at, UTC),
            case=case,
            force=force,
            payload=payload,
            event_id=f"e{index}",
        )
        e["_at"] = at
        events.append(e)
    return events


def wire(
    events: list[dict[str, Any]], offsets: list[timezone] | None = None
) -> list[dict[str, Any]]:
    out = []
    for i, e in enumerate(events):
        clean = {k: v for k, v in e.items() if k != "_at"}
        if offsets is not None:
            clean["occurred_at"] = render(e["_at"], offsets[i % len(offsets)])
        out.append(clean)
    return out
