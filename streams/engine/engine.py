"""The engine: applies events, keeps the event-time clock, and reports changes.

At-least-once delivery is expected: an event id seen before is a duplicate and
changes nothing, so a replay after a crash never counts twice.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from refmon.streams.engine.case import (
    NO_DUTY,
    RECORDED_RANK,
    UPDATED_RANK,
    CaseState,
    FactVersion,
    duty,
)
from refmon.streams.engine.delays import DelayHistogram, delay_histogram
from refmon.streams.engine.findings import (
    Condition,
    Finding,
    FindingChange,
    make_finding,
    next_wakeup,
    open_conditions,
    same_finding,
)
from refmon.streams.engine.model import CaseFacts, Closed, Decision, Event, Received, Referred
from refmon.streams.engine.report import ForceCounts, Report, build_rows, count_force, national
from refmon.streams.engine.rules import Ruleset
from refmon.streams.engine.timeutil import end_of_following_day
from refmon.streams.engine.vocabulary import FindingKind


class Applied(NamedTuple):
    duplicate: bool
    changes: tuple[FindingChange, ...]


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """A case as the engine judges it now (times in microseconds)."""

    recorded_at: int | None
    duty_arose_at: int | None
    deadline: int | None
    criteria: tuple[str, ...]
    referral_at: int | None


class UnknownForceError(KeyError):
    """An event for a force the engine was not configured with."""


class Engine:
    def __init__(self, ruleset: Ruleset, forces: Iterable[str]) -> None:
        self.ruleset = ruleset
        self._cases: dict[str, dict[str, CaseState]] = {f: {} for f in forces}
        # force -> linked case id -> the cases that declare a link to it
        self._linked_from: dict[str, dict[str, set[str]]] = {f: {} for f in self._cases}
        self._lookups = {f: CaseLookup(cases) for f, cases in self._cases.items()}
        self._seen: set[str] = set()
        self._timers: list[tuple[int, str, str]] = []
        self._open: Counter[tuple[str, FindingKind]] = Counter()
        self._last_event: dict[str, int] = {}
        self.clock: int | None = None
        self.valid = 0
        self.duplicate = 0

    # -- applying events ---------------------------------------------------

    def apply(self, event: Event) -> Applied:
        if event.event_id in self._seen:
            self.duplicate += 1
            return Applied(True, ())
        cases = self._cases.get(event.force)
        if cases is None:
            raise UnknownForceError(event.force)
        self._seen.add(event.event_id)
        self.valid += 1
        if event.occurred_at_us > self._last_event.get(event.force, event.occurred_at_us - 1):
            self._last_event[event.force] = event.occurred_at_us
        if isinstance(event.payload, Decision):
            # The watchdog's decision changes no finding (adapters count it), but
            # time still passes up to it.
            return Applied(False, self.advance(event.occurred_at_us))
        # Time passes before the event happens, as it would have live: a deadline
        # that fell before this event's time is missed before the event is applied.
        changes = list(self.advance(event.occurred_at_us))
        case = cases.get(event.case_id)
        if case is None:
            case = cases[event.case_id] = CaseState()
        own_before, recorded_before = case.own_duty_at, case.recorded
        facts_changed = self._record(event, case) or case.recorded != recorded_before
        changes.extend(self._refresh(event.force, event.case_id, facts_changed))
        if case.own_duty_at != own_before or case.recorded != recorded_before:
            for source in sorted(self._linked_from[event.force].get(event.case_id, ())):
                changes.extend(self._refresh(event.force, source, facts_changed=True))
        return Applied(False, tuple(changes))

    def advance(self, clock_us: int) -> tuple[FindingChange, ...]:
        """Move the clock forward (never back) and open what time alone opens."""
        if self.clock is None or clock_us <= self.clock:
            # The first event sets the clock; there is nothing to fire before it.
            self.clock = clock_us if self.clock is None else self.clock
            return ()
        self.clock = clock_us
        return tuple(self._fire_timers())

    def _record(self, event: Event, case: CaseState) -> bool:
        """Fold the event into the case; True when its facts (and so its duty) may change."""
        payload = event.payload
        if isinstance(payload, CaseFacts):
            rank = RECORDED_RANK if event.event_type == "case.recorded" else UPDATED_RANK
            linked = tuple(sorted(set(payload.linked_case_ids) - {event.case_id}))
            case.add_version(
                FactVersion(
                    event.occurred_at_us,
                    rank,
                    event.event_id,
                    self.ruleset.own_mask(payload),
                    payload.assessed_mandatory,
                    linked,
                )
            )
            index = self._linked_from[event.force]
            for other in linked:
                index.setdefault(other, set()).add(event.case_id)
            return True
        if isinstance(payload, Referred):
            case.add_claim(event.occurred_at_us)
        elif isinstance(payload, Received):
            case.add_receipt(event.occurred_at_us)
        elif isinstance(payload, Closed):
            case.add_closure(event.occurred_at_us)
        return False

    # -- derived state -------------------------------------------------------

    def _refresh(
        self, force: str, case_id: str, facts_changed: bool = False
    ) -> list[FindingChange]:
        """Re-derive the case's duty (when its facts may have changed) and its findings."""
        case = self._cases[force][case_id]
        lookup = self._lookups[force]
        if facts_changed:
            self._refresh_duty(case, lookup)
        assert self.clock is not None
        now = open_conditions(case, self.clock, self.ruleset, lookup)
        changes = self._diff(force, case_id, case, now) if now or case.findings else []
        wake = next_wakeup(case, self.clock, self.ruleset)
        if wake is not None and wake != case.timer_at:
            heapq.heappush(self._timers, (wake, force, case_id))
        case.timer_at = wake
        return changes

    def _refresh_duty(self, case: CaseState, lookup: CaseLookup) -> None:
        arose = NO_DUTY
        if case.recorded and case.versions:
            arose = duty(case.versions, lookup, self.ruleset.linked_bit)
        if arose.at is None:
            case.deadline_at = None
        elif arose.at != case.duty_at:
            case.deadline_at = end_of_following_day(
                arose.at, self.ruleset.zone, self.ruleset.deadline_days_after
            )
        case.own_duty_at, case.duty_at, case.duty_mask = arose

    def _diff(
        self, force: str, case_id: str, case: CaseState, now: dict[FindingKind, Condition]
    ) -> list[FindingChange]:
        before = case.findings or {}
        changes: list[FindingChange] = []
        for kind, condition in now.items():
            old = before.get(kind)
            if old is not None and same_finding(old, case, condition, self.ruleset):
                continue
            finding = make_finding(kind, force, case_id, case, condition, self.ruleset)
            if old is None or old.status == "resolved":
                self._open[(force, kind)] += 1
                changes.append(FindingChange("opened" if old is None else "reopened", finding))
            else:
                changes.append(FindingChange("updated", finding))
        for kind, old in before.items():
            if kind not in now and old.status == "open":
                self._open[(force, kind)] -= 1
                changes.append(FindingChange("resolved", old._replace(status="resolved")))
        if changes:
            merged = dict(before)
            merged.update((c.finding.kind, c.finding) for c in changes)
            case.findings = merged
        return changes

    def _fire_timers(self) -> list[FindingChange]:
        changes: list[FindingChange] = []
        assert self.clock is not None
        while self._timers and self._timers[0][0] <= self.clock:
            at, force, case_id = heapq.heappop(self._timers)
            case = self._cases[force][case_id]
            if case.timer_at == at:
                changes.extend(self._refresh(force, case_id))
        return changes

    # -- reading -------------------------------------------------------------

    def findings(self) -> Iterator[Finding]:
        """Every finding ever opened, in its final state, ordered by force, case, kind."""
        for force in sorted(self._cases):
            cases = self._cases[force]
            for case_id in sorted(cid for cid, c in cases.items() if c.findings):
                found = cases[case_id].findings or {}
                for kind in sorted(found):
                    yield found[kind]

    def open_counts(self) -> Counter[tuple[str, FindingKind]]:
        return Counter({k: v for k, v in self._open.items() if v})

    def last_event_times(self) -> dict[str, int]:
        """Per force, the event time of its latest event: a silent force stands still."""
        return dict(self._last_event)

    def has_seen(self, event_id: str) -> bool:
        return event_id in self._seen

    def snapshot(self, force: str, case_id: str) -> CaseSnapshot | None:
        case = self._cases.get(force, {}).get(case_id)
        if case is None:
            return None
        return CaseSnapshot(
            recorded_at=case.recorded_at,
            duty_arose_at=case.duty_at,
            deadline=case.deadline_at,
            criteria=self.ruleset.names(case.duty_mask),
            referral_at=case.referral_at,
        )

    @property
    def forces(self) -> tuple[str, ...]:
        return tuple(sorted(self._cases))

    def case_count(self) -> int:
        return sum(len(c) for c in self._cases.values())

    def pending_count(self) -> int:
        """Cases with events but no `case.recorded` yet: held, not judged."""
        return sum(1 for cases in self._cases.values() for c in cases.values() if not c.recorded)

    def held_force_counts(self, window_days: int) -> dict[str, ForceCounts]:
        """Section 9 counts for each force this engine holds cases of."""
        return {
            force: count_force(cases.values(), self.clock, window_days)
            for force, cases in self._cases.items()
            if cases
        }

    def referral_delays(self, window_days: int) -> dict[str, DelayHistogram]:
        """Per force held, the referral delays of mandatory cases whose duty arose in the window."""
        return {
            force: delay_histogram(cases.values(), self.clock, window_days)
            for force, cases in self._cases.items()
            if cases
        }

    def report(self, window_days: int, invalid: int = 0) -> Report:
        counts = {
            force: count_force(cases.values(), self.clock, window_days)
            for force, cases in self._cases.items()
        }
        rows, compliance, share = build_rows(counts, self._open)
        return Report(
            as_of=self.clock,
            window_days=window_days,
            ruleset=self.ruleset.id,
            valid=self.valid,
            invalid=invalid,
            duplicate=self.duplicate,
            national=national(rows, compliance, share),
            forces=rows,
        )


class CaseLookup:
    """When each case of one force became mandatory by its own criteria."""

    __slots__ = ("_cases",)

    def __init__(self, cases: dict[str, CaseState]) -> None:
        self._cases = cases

    def __call__(self, case_id: str) -> int | None:
        case = self._cases.get(case_id)
        return None if case is None else case.own_duty_at
