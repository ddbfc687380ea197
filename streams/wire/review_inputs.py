"""What each by-force partition shares so that every worker can judge the outliers
(docs/contract.md section 14): its forces' counts at each review point, its outlier
actions, and its first event and clock, as records of the force-counts changelog.

One record per (force, review point) and per (force, outlier id): a past review
point's counts change only when an event dated before it arrives late, so a
partition resends little once published. Keys are JSON strings (as the force
keys beside them are) under a prefix no force code has, so a reader that knows
only force keys passes over them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.outlier_model import Action

PREFIX = "outliers/"
_REVIEW, _ACTIONS, _PARTITION = "review", "actions", "partition"


def review_key(force: str, point: int) -> str:
    return f"{PREFIX}{_REVIEW}/{force}/{point}"


def actions_key(force: str, outlier_id: str) -> str:
    return f"{PREFIX}{_ACTIONS}/{force}/{outlier_id}"


def partition_key(partition: int) -> str:
    return f"{PREFIX}{_PARTITION}/{partition}"


def dumps(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def review_value(counts: ForceCounts) -> dict[str, Any]:
    """A review point's counts, without the monthly series review points never have."""
    body = counts.to_json()
    del body["monthly"]
    return body


def actions_value(actions: Iterable[Action]) -> list[list[Any]]:
    return [list(action) for action in sorted(actions)]


def partition_value(
    first_event: int | None, clock: int | None, points: tuple[int, ...]
) -> dict[str, Any]:
    """A partition's first event and clock, and the review points its counts cover."""
    covered = [points[0], points[-1]] if points else []
    return {"first_event": first_event, "clock": clock, "points": covered}


@dataclass(slots=True)
class ReviewInputs:
    """Every partition's shared outlier inputs, read back from the changelog."""

    counts: dict[str, dict[int, ForceCounts]] = field(default_factory=dict)
    actions: dict[tuple[str, str], list[Action]] = field(default_factory=dict)
    partitions: dict[int, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def first_event(self) -> int | None:
        known = [p["first_event"] for p in self.partitions.values() if p["first_event"] is not None]
        return min(known) if known else None

    @property
    def clock(self) -> int | None:
        known = [p["clock"] for p in self.partitions.values() if p["clock"] is not None]
        return max(known) if known else None

    def complete(self, partitions: int, points: tuple[int, ...]) -> bool:
        """Every partition has published its counts for exactly these review points."""
        covered = [points[0], points[-1]] if points else []
        return all(
            p in self.partitions and list(self.partitions[p]["points"]) == covered
            for p in range(partitions)
        )


def read(values: Mapping[str, Any]) -> ReviewInputs:
    """The outlier inputs among the changelog's latest values (key -> parsed JSON value;
    an empty value is a deleted record)."""
    inputs = ReviewInputs()
    for key, value in values.items():
        if not key.startswith(PREFIX) or not value:
            continue
        kind, _, rest = key[len(PREFIX) :].partition("/")
        if kind == _REVIEW:
            force, _, point = rest.rpartition("/")
            inputs.counts.setdefault(force, {})[int(point)] = ForceCounts.from_json(value)
        elif kind == _ACTIONS:
            force, _, outlier_id = rest.partition("/")
            inputs.actions[(force, outlier_id)] = [
                Action(int(at), str(ident), str(kind_), None if d is None else str(d))
                for at, ident, kind_, d in value
            ]
        elif kind == _PARTITION:
            inputs.partitions[int(rest)] = value
    return inputs
