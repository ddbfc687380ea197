"""Adversarial stream shapes for the engine benchmark (issue 9, item 4).

Each is a JSON Lines file whose cost per event grew with a case's history
before the engine derived duties incrementally: one case updated many times,
in time order and in reverse, and many cases linking to one whose own duty
keeps moving (every move re-dates each linking case: real output changes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _event(n: int, event_type: str, case: str, minutes: int, payload: object) -> str:
    at = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "schema_version": 1,
            "event_id": f"e{n}",
            "event_type": event_type,
            "force": "DUR",
            "case_id": case,
            "occurred_at": at,
            "payload": payload,
        },
        separators=(",", ":"),
    )


def _facts(serious: bool, linked: list[str] | None = None) -> dict[str, object]:
    payload: dict[str, object] = {
        "case_kind": "complaint",
        "harm": "none",
        "allegations": [
            {"allegation_id": "a1", "category": "serious_assault" if serious else "other"}
        ],
        "force_assessment": {"mandatory": serious, "criteria": []},
    }
    if linked:
        payload["linked_case_ids"] = linked
    return payload


def one_case(updates: int, reverse: bool) -> Iterator[str]:
    """A case recorded, then updated `updates` times, alternating serious and not."""
    yield _event(0, "case.recorded", "X", 0, _facts(False))
    order = range(updates, 0, -1) if reverse else range(1, updates + 1)
    for k in order:
        yield _event(k, "case.updated", "X", k, _facts(k % 2 == 1))


def fan_in(linking: int, updates: int) -> Iterator[str]:
    """`linking` cases linking to X, then X's updates in reverse time order: each
    serious one moves X's own duty earlier, and with it every linking case's duty."""
    for k in range(linking):
        yield _event(1_000_000 + k, "case.recorded", f"L{k}", 0, _facts(False, ["X"]))
    yield from one_case(updates, reverse=True)


SHAPES = {
    "one case, 1,000 updates": lambda: one_case(1_000, False),
    "one case, 10,000 updates": lambda: one_case(10_000, False),
    "one case, 20,000 updates": lambda: one_case(20_000, False),
    "one case, 20,000 updates, reversed": lambda: one_case(20_000, True),
    "10,000 cases linking to one, 400 updates": lambda: fan_in(10_000, 400),
}


def write(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for n, (name, lines) in enumerate(SHAPES.items()):
        path = folder / f"shape-{n}.jsonl"
        if not path.exists():
            path.write_text("\n".join(lines()) + "\n", encoding="utf-8")
        paths[name] = path
    return paths
