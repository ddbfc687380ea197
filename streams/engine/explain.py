"""One case's story: its events replayed in event time, and what each one changed.

The case's events, and those of the cases its facts link to (the same-incident
criterion needs their duties), go through a fresh engine in event-time order,
as a live run would have seen them. After each step the case's judged state is
compared with the one before: the facts in force, the criteria they meet, the
duty, the deadline, the referral, the watchdog's decision, and the findings
that opened, changed or resolved. Time passing is a step of its own (a deadline
passing opens a missed referral). A linked case's events are never shown: a
step they cause says only which linked case, by its id.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from refmon.streams.engine.case import CaseState
from refmon.streams.engine.engine import Engine, clock_at
from refmon.streams.engine.findings import FindingChange
from refmon.streams.engine.model import CaseFacts, Event
from refmon.streams.engine.rules import Ruleset

StepKind = Literal["event", "time", "linked"]


@dataclass(frozen=True, slots=True)
class CaseView:
    """What an explanation follows of a case, as judged at one moment."""

    recorded_at: int | None = None
    facts_event_id: str | None = None
    """The `case.recorded`/`case.updated` in force (the latest by event time)."""
    criteria_met: tuple[str, ...] = ()
    """The criteria those facts meet now (same_incident included)."""
    assessed_mandatory: bool | None = None
    duty_arose_at: int | None = None
    duty_criteria: tuple[str, ...] = ()
    duty_event_id: str | None = None
    through_linked: tuple[str, ...] = ()
    """Linked cases, by id, that made same_incident hold when the duty arose."""
    deadline: int | None = None
    referral_at: int | None = None
    referral_event_id: str | None = None
    referral_by: str | None = None
    """`watchdog receipt` or `force claim` (unconfirmed)."""
    decision: str | None = None
    closed_at: int | None = None

    def changes(self, before: CaseView) -> list[tuple[str, Any, Any]]:
        return [
            (name, getattr(before, name), getattr(self, name))
            for name in self.__slots__
            if getattr(before, name) != getattr(self, name)
        ]


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    at: int
    """The event's time; for time passing, when the finding's condition first held."""
    changes: list[tuple[str, Any, Any]]
    findings: list[FindingChange]
    event: Event | None = None
    """This case's event (kind `event`); None otherwise."""
    arrival: int | None = None
    """Where the event came in the input (e.g. its line number)."""
    outcome: str = "applied"
    """`applied`, or `duplicate` (an id seen before: ignored)."""
    out_of_order_after: int | None = None
    """The arrival of an earlier-arriving event of this case that happened later."""
    linked_case: str | None = None


@dataclass(slots=True)
class Explanation:
    force: str
    case_id: str
    ruleset: str
    as_of: int | None
    steps: list[Step] = field(default_factory=list)
    final: CaseView = field(default_factory=CaseView)


def view(engine: Engine, ruleset: Ruleset, force: str, case_id: str) -> CaseView:
    case = engine.case_state(force, case_id)
    if case is None or not case.recorded:
        return CaseView(
            decision=None if case is None or case.decision is None else case.decision.decision
        )
    latest = case.latest
    clock = engine.clock
    mask = 0
    if latest is not None:
        mask = latest.own_mask
        if (
            ruleset.linked_bit
            and clock is not None
            and _linked_duties(engine, force, latest.linked, clock)
        ):
            mask |= ruleset.linked_bit
    return CaseView(
        recorded_at=case.recorded_at,
        facts_event_id=None if latest is None else latest.event_id,
        criteria_met=ruleset.names(mask),
        assessed_mandatory=None if latest is None else latest.assessed_mandatory,
        duty_arose_at=case.duty_at,
        duty_criteria=ruleset.names(case.duty_mask),
        duty_event_id=case.duty_event_id,
        through_linked=_through(engine, ruleset, force, case),
        deadline=case.deadline_at,
        referral_at=case.referral_at,
        referral_event_id=case.referral_event_id,
        referral_by=None
        if case.referral_at is None
        else "watchdog receipt"
        if case.received_at is not None
        else "force claim",
        decision=None if case.decision is None else case.decision.decision,
        closed_at=case.closed_at,
    )


def _linked_duties(engine: Engine, force: str, linked: Iterable[str], at: int) -> tuple[str, ...]:
    """The linked cases mandatory by their own criteria at `at`."""
    found = []
    for other in linked:
        state = engine.case_state(force, other)
        if state is not None and state.own_duty_at is not None and state.own_duty_at <= at:
            found.append(other)
    return tuple(found)


def _through(engine: Engine, ruleset: Ruleset, force: str, case: CaseState) -> tuple[str, ...]:
    if case.duty_at is None or not case.duty_mask & ruleset.linked_bit:
        return ()
    versions = case.versions or []
    # The version in force at the duty's moment: the last to start at or before it
    # (found by bisection: a scan per step would make a long case's story quadratic).
    where = bisect_right(versions, case.duty_at, key=lambda v: v.at_us) - 1
    version = versions[where] if where >= 0 else None
    if version is None or version.event_id != case.duty_event_id:
        version = next((v for v in versions if v.event_id == case.duty_event_id), None)
    return () if version is None else _linked_duties(engine, force, version.linked, case.duty_at)


def linked_ids(events: Iterable[Event], case_id: str) -> set[str]:
    """The cases this case's facts ever link to (the only others whose events matter to it)."""
    found: set[str] = set()
    for event in events:
        if event.case_id == case_id and isinstance(event.payload, CaseFacts):
            found.update(event.payload.linked_case_ids)
    found.discard(case_id)
    return found


def explain(
    engine: Engine,
    force: str,
    case_id: str,
    events: Sequence[tuple[int, Event]],
    as_of: int | None,
    received: Mapping[int, int] | None = None,
) -> Explanation:
    """Replay (arrival, event) pairs of the case and its linked cases through `engine` (fresh)
    in event time, then move its clock to `as_of`, noting what each step changed.

    `received`: arrival -> when refmon received the event, where known. As `refmon run`
    does, an event dated ahead moves the clock only to then (docs/contract.md section 13),
    so a deadline between the two is not passed on its account.
    """
    received = received or {}
    ruleset = engine.ruleset
    story = Explanation(force, case_id, ruleset.id, as_of)
    before = view(engine, ruleset, force, case_id)
    first_after = _first_arrival_after([(a, e) for a, e in events if e.case_id == case_id])
    for arrival, event in sorted(events, key=lambda ae: (ae[1].occurred_at_us, ae[0])):
        received_at = received.get(arrival)
        before = _time(story, engine, force, case_id, clock_at(event, received_at), before)
        applied = engine.apply(event, received_at)
        after = view(engine, ruleset, force, case_id)
        mine = [c for c in applied.changes if c.finding.case_id == case_id]
        if event.case_id == case_id:
            later = first_after(event.occurred_at_us)
            story.steps.append(
                Step(
                    "event",
                    event.occurred_at_us,
                    after.changes(before),
                    mine,
                    event,
                    arrival,
                    applied.outcome,
                    later if later is not None and later < arrival else None,
                )
            )
        elif mine or after != before:
            story.steps.append(
                Step(
                    "linked",
                    event.occurred_at_us,
                    after.changes(before),
                    mine,
                    linked_case=event.case_id,
                )
            )
        before = after
    if as_of is not None:
        _time(story, engine, force, case_id, as_of, before)
    story.final = view(engine, ruleset, force, case_id)
    return story


def _first_arrival_after(ours: list[tuple[int, Event]]) -> Callable[[int], int | None]:
    """For a moment t, the first arrival among the case's events that happened after t.

    An event arrived out of order when that arrival came before its own; one
    sort and a suffix minimum answer it for every event in logarithmic time.
    """
    ordered = sorted((e.occurred_at_us, a) for a, e in ours)
    times = [t for t, _ in ordered]
    suffix: list[int | None] = [None] * (len(ordered) + 1)
    for i in range(len(ordered) - 1, -1, -1):
        following = suffix[i + 1]
        arrival = ordered[i][1]
        suffix[i] = arrival if following is None else min(arrival, following)

    def first_after(moment: int) -> int | None:
        return suffix[bisect_right(times, moment)]

    return first_after


def _time(
    story: Explanation, engine: Engine, force: str, case_id: str, to: int, before: CaseView
) -> CaseView:
    """Move the clock; what time alone changed for the case is a step at each moment it did."""
    if engine.clock is not None and to <= engine.clock:
        return before
    passed = [c for c in engine.advance(to) if c.finding.case_id == case_id]
    after = view(engine, engine.ruleset, force, case_id)
    by_moment: dict[int, list[FindingChange]] = {}
    for change in passed:
        by_moment.setdefault(change.finding.detected_at, []).append(change)
    for moment in sorted(by_moment):
        story.steps.append(Step("time", moment, [], by_moment[moment]))
    return after
