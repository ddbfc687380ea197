"""Plausible outlier actions for a simulated stream (`refmon simulate --oversight`).

Which outliers open is the engine's business, so this asks the engine: the
simulated events go through the runner's own decoding into an engine, whose
review points give the cross-force rows at each month end. Outliers are then
opened with the engine's `open_outliers`, and each new one is worked through
with seeded, plausible actions: most on time, some of the force's answers late,
a few closed as data errors. An outlier's actions decide whether it is still
open at later review points, so the openings are recomputed until every
outlier opened has its actions (each pass settles at least the earliest).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from refmon import bootstrap
from refmon.schemas.rejections import Rejection
from refmon.streams.engine.outlier_model import AWAITS, Action, Outlier
from refmon.streams.engine.outliers import open_outliers
from refmon.streams.engine.review import review_rows
from refmon.streams.engine.timeutil import format_utc
from refmon.streams.engine.workdays import working_days_after
from refmon.streams.wire.decode import decode
from refmon.streams.wire.translate import to_engine_event

WINDOW_DAYS = 365


@dataclass(frozen=True, slots=True)
class OversightRates:
    data_error: float = 0.08
    """Checks that find the data wrong: closed at once."""
    late_answer: float = 0.2
    """The force's response or action plan after its deadline."""
    explained: float = 0.3
    """Reviews that accept the force's explanation: closed."""
    late_watchdog: float = 0.05
    """The watchdog's own steps after their deadline."""


class OversightSim:
    """Feed it the simulated lines; then `actions()` gives the outlier actions as events."""

    def __init__(self, seed: int, rates: OversightRates | None = None) -> None:
        self._wiring = bootstrap.build()
        self._seed = seed
        self._rates = rates or OversightRates()

    def feed(self, line: str) -> None:
        decoded = decode(self._wiring.adapter, line.encode("utf-8", "surrogateescape"))
        if not isinstance(decoded, Rejection):
            self._wiring.engine.apply(to_engine_event(decoded))

    def actions(self) -> list[dict[str, Any]]:
        """Every action of every outlier that opens, in time order, up to the last event."""
        engine = self._wiring.engine
        end = engine.clock
        if end is None:
            return []
        points = engine.review_points()
        rows_at = review_rows(points, engine.held_review_counts(points, WINDOW_DAYS))
        zone, holidays = engine.ruleset.zone, engine.holidays
        planned: dict[tuple[str, str], list[Action]] = {}
        while True:
            opened = open_outliers(points, rows_at, planned, end, zone, holidays)
            fresh = [o for o in opened if (o.force, o.outlier_id) not in planned]
            if not fresh:
                break
            first = min(fresh, key=lambda o: o.opened_at)
            planned[(first.force, first.outlier_id)] = list(self._plan(first, end))
        events = [
            _event(force, outlier_id, action)
            for (force, outlier_id), found in planned.items()
            for action in found
        ]
        return sorted(events, key=lambda e: (e["occurred_at"], e["event_id"]))

    def _plan(self, outlier: Outlier, end: int) -> Iterator[Action]:
        """One outlier's actions, from its opening until it closes or the stream ends."""
        rng = random.Random(f"{self._seed}/{outlier.force}/{outlier.outlier_id}")
        rates, engine = self._rates, self._wiring.engine
        state, at, number = "data_check", outlier.opened_at, 0
        while state in AWAITS:
            awaited = AWAITS[state]  # type: ignore[index]
            days = awaited.working_days or 60
            due = working_days_after(at, days, engine.ruleset.zone, engine.holidays)
            late = rates.late_answer if awaited.owner == "force" else rates.late_watchdog
            share = rng.uniform(1.1, 1.8) if rng.random() < late else rng.uniform(0.15, 0.9)
            at = at + max(1, int((due - at) * share))
            if at > end:
                return
            number += 1
            state, detail = self._next(state, rng)
            yield Action(
                at, f"{outlier.force}-{outlier.outlier_id}-{number}", awaited.action, detail
            )

    def _next(self, state: str, rng: random.Random) -> tuple[str, str | None]:
        rates = self._rates
        if state == "data_check":
            if rng.random() < rates.data_error:
                return "closed", "data_error"
            return "notify", "confirmed"
        if state == "notify":
            return "awaiting_response", None
        if state == "awaiting_response":
            return "under_review", None
        if state == "under_review":
            if rng.random() < rates.explained:
                return "closed", "explained"
            return "action_plan", "confirmed"
        if state == "action_plan":
            return "monitoring", None
        return "closed", rng.choice(("satisfied", "back_within_limits"))


def _event(force: str, outlier_id: str, action: Action) -> dict[str, Any]:
    payload: dict[str, str] = {}
    if action.detail is not None:
        payload["reason" if action.event_type == "outlier.closed" else "outcome"] = action.detail
    return {
        "schema_version": 1,
        "event_id": action.event_id,
        "event_type": action.event_type,
        "force": force,
        "case_id": outlier_id,
        "occurred_at": format_utc(action.occurred_at),
        "payload": payload,
    }


def lines(events: list[dict[str, Any]]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event, separators=(",", ":")) + "\n"
