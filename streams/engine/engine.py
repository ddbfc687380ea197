"""The engine: applies events, keeps the event-time clock, and reports changes.

At-least-once delivery is expected: an event seen before is a duplicate and
changes nothing, so a replay after a crash never counts twice. Event ids are
scoped by source (docs/contract.md section 7): a force's own events by force and id,
the watchdog's by id, so one source's ids can never hide another's events.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Set
from datetime import date
from itertools import chain

from refmon.streams.engine.case import CaseState, DecisionRecord
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
from refmon.streams.engine.folding import Rederive, fold, linked_ids, rederive_duty
from refmon.streams.engine.force_findings import force_findings
from refmon.streams.engine.links import MAX_FACT_VERSIONS, MAX_LINKED_IDS, CaseLookup, LinkIndex
from refmon.streams.engine.model import CaseFacts, Decision, Event, OutlierStep
from refmon.streams.engine.outcomes import (
    CONFLICT,
    CONTENT_UNKNOWN,
    DUPLICATE,
    LIMIT,
    RETIRED,
    Applied,
    CaseSnapshot,
    OutOfRangeError,
    UnknownForceError,
    clock_at,
    source_scope,
)
from refmon.streams.engine.outlier_model import Action, Outlier
from refmon.streams.engine.outliers import overdue_findings
from refmon.streams.engine.oversight import OutlierBook
from refmon.streams.engine.peers import PeerGroups, compare, one_year_before
from refmon.streams.engine.report import ForceCounts, Report, count_force, cross_force
from refmon.streams.engine.retired_store import Archived, RetiredCases
from refmon.streams.engine.retirement import Retired, can_retire, first_moment
from refmon.streams.engine.rules import Ruleset
from refmon.streams.engine.timeutil import MAX_MICROS, MIN_MICROS, Deadlines
from refmon.streams.engine.vocabulary import FindingKind

__all__ = [
    "Applied",
    "CaseSnapshot",
    "Engine",
    "OutOfRangeError",
    "UnknownForceError",
    "clock_at",
    "source_scope",
]
"""What applying an event answers (outcomes.py) is importable from here, as it always was."""


class Engine:
    def __init__(
        self,
        ruleset: Ruleset,
        forces: Iterable[str],
        holidays: Set[date] = frozenset(),
        peer_groups: PeerGroups | None = None,
    ) -> None:
        """`holidays`: the bank holidays outlier deadlines skip (section 14), as data;
        `peer_groups`: the groups the report compares forces within (section 15)."""
        self.ruleset = ruleset
        self.holidays = holidays
        self.peer_groups = peer_groups or PeerGroups({})
        self._cases: dict[str, dict[str, CaseState]] = {f: {} for f in forces}
        # force -> linked case id -> the cases that declare a link to it
        self._linked_from: dict[str, LinkIndex] = {f: LinkIndex() for f in self._cases}
        # force -> retired case id -> what it still contributes (retirement.py)
        self._retired = {f: RetiredCases(self._settle) for f in self._cases}
        # Archive records absorbed whose cases are not read yet (retired_store.py).
        self._unsettled: list[Archived] = []
        self._lookups = {f: CaseLookup(cases, self._retired[f]) for f, cases in self._cases.items()}
        # source scope -> event id -> fingerprint of the event's content
        self._seen: dict[str, dict[str, int]] = {}
        self._timers: list[tuple[int, str, str]] = []
        self._open: Counter[tuple[str, FindingKind]] = Counter()
        self._last_event: dict[str, int] = {}
        # Force-level findings as of the latest report (they need the cross-force view).
        self._force_findings: dict[str, list[Finding]] = {}
        self._deadlines = Deadlines(ruleset.zone, ruleset.deadline_days_after)
        # Outlier management's own state: actions, decisions, review times (section 14).
        self._book = OutlierBook(
            ruleset, self._cases, self._retired, self._deadlines.after, holidays, self.settle_all
        )
        self.clock: int | None = None
        self.valid = 0
        self.duplicate = 0

    # -- applying events ---------------------------------------------------

    def apply(self, event: Event, received_at_us: int | None = None) -> Applied:
        """Apply one event. Raises (changing nothing) for a force or a time it cannot judge.

        `received_at_us` is when refmon received the event (docs/contract.md section 13):
        the clock moves to the earlier of that and the event's own time, so a force
        whose clock runs ahead cannot bring another force's deadlines forward. None:
        the time is not known (a delivery stored by an earlier release), and the
        event's own time stands, as it always did.
        """
        if not MIN_MICROS <= event.occurred_at_us < MAX_MICROS:
            raise OutOfRangeError("occurred_at is outside the range the engine can judge")
        cases = self._cases.get(event.force)
        if cases is None:
            raise UnknownForceError(event.force)
        seen = self._seen.get(source_scope(event))
        if seen is None:
            seen = self._seen[source_scope(event)] = {}
        # Content equality by hash: a collision (one in 2**64) would count a
        # conflicting event as a plain duplicate, never lose a distinct one.
        fingerprint = hash(event)
        known = seen.get(event.event_id)
        if known is not None:
            if known != fingerprint and known != CONTENT_UNKNOWN:
                return CONFLICT
            self.duplicate += 1
            return DUPLICATE
        if isinstance(event.payload, OutlierStep):
            changes = self._apply_action(event, event.payload, clock_at(event, received_at_us))
        elif event.case_id in self._retired[event.force]:
            return RETIRED
        elif isinstance(event.payload, CaseFacts) and self._over_limit(event, cases):
            return LIMIT
        else:
            changes = self._apply_new(event, cases, clock_at(event, received_at_us))
        self._book.note_event(event.occurred_at_us)
        seen[event.event_id] = fingerprint
        self.valid += 1
        return Applied("applied", changes)

    def _over_limit(self, event: Event, cases: dict[str, CaseState]) -> bool:
        """Whether these facts would take the case past what one case may hold (links.py).

        Both bounds count what only grows (versions, distinct linked ids), so a set
        of events within them is accepted whatever order it arrives in.
        """
        case = cases.get(event.case_id)
        if case is None or case.versions is None:
            return len(linked_ids(event)) > MAX_LINKED_IDS
        if len(case.versions) >= MAX_FACT_VERSIONS:
            return True
        fresh = self._linked_from[event.force].new_targets(event.case_id, linked_ids(event))
        return case.linked_count + fresh > MAX_LINKED_IDS

    def _apply_action(
        self, event: Event, step: OutlierStep, clock_us: int
    ) -> tuple[FindingChange, ...]:
        """Keep an outlier action: the outliers are judged with the report (section 14)."""
        action = Action(event.occurred_at_us, event.event_id, event.event_type, step.detail)
        self._book.add_action(event.force, event.case_id, action)
        return self.advance(clock_us)

    def _apply_new(
        self, event: Event, cases: dict[str, CaseState], clock_us: int
    ) -> tuple[FindingChange, ...]:
        last = self._last_event.get(event.force)
        if last is None or event.occurred_at_us > last:
            self._last_event[event.force] = event.occurred_at_us
        if isinstance(event.payload, Decision):
            # The watchdog's decision changes no finding, only the force's referral
            # outcomes; time still passes up to it.
            passed = self.advance(clock_us)
            held = cases.get(event.case_id)
            if held is None:
                held = cases[event.case_id] = CaseState()
            record = DecisionRecord(event.occurred_at_us, event.event_id, event.payload.decision)
            self._book.add_decision(event.force, event.case_id, held, record)
            held.add_decision(record)
            held.touch(event.occurred_at_us)
            return passed
        # Time passes before the event happens, as it would have live: a deadline
        # that fell before this event's time is missed before the event is applied.
        changes = list(self.advance(clock_us))
        case = cases.get(event.case_id)
        if case is None:
            case = cases[event.case_id] = CaseState()
        own_before, recorded_before = case.own_duty_at, case.recorded
        case.touch(event.occurred_at_us)
        inserted = fold(event, case, self.ruleset, self._linked_from[event.force])
        how: Rederive = "rescan" if case.recorded != recorded_before else inserted
        changes.extend(self._refresh(event.force, event.case_id, how))
        if case.own_duty_at != own_before:
            for source in self._linked_from[event.force].sources(event.case_id):
                changes.extend(self._refresh(event.force, source, "relinked"))
        return tuple(changes)

    def advance(self, clock_us: int) -> tuple[FindingChange, ...]:
        """Move the clock forward (never back) and open what time alone opens."""
        if not MIN_MICROS <= clock_us < MAX_MICROS:
            raise OutOfRangeError("the clock is outside the range the engine can judge")
        if self.clock is None or clock_us <= self.clock:
            # The first event sets the clock; there is nothing to fire before it.
            self.clock = clock_us if self.clock is None else self.clock
            return ()
        self.clock = clock_us
        return tuple(self._fire_timers())

    # -- derived state -------------------------------------------------------

    def _refresh(self, force: str, case_id: str, how: Rederive = None) -> list[FindingChange]:
        """Re-derive the case's duty (when its facts may have changed) and its findings."""
        case = self._cases[force][case_id]
        lookup = self._lookups[force]
        if how is not None:
            rederive_duty(case, lookup, how, self.ruleset.linked_bit, self._deadlines.after)
        assert self.clock is not None
        now = open_conditions(case, self.clock, self.ruleset, lookup)
        changes = self._diff(force, case_id, case, now) if now or case.findings else []
        wake = next_wakeup(case, self.clock, self.ruleset)
        if wake is not None and wake != case.timer_at:
            heapq.heappush(self._timers, (wake, force, case_id))
        case.timer_at = wake
        return changes

    def _diff(
        self, force: str, case_id: str, case: CaseState, now: dict[FindingKind, Condition]
    ) -> list[FindingChange]:
        before = case.findings or {}
        changes: list[FindingChange] = []
        for kind, condition in now.items():
            old = before.get(kind)
            if old is not None and same_finding(old, case, condition, self.ruleset):
                continue
            finding = make_finding(
                kind, force, case_id, case, condition, self.ruleset, old and old.finding_id
            )
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
            case = self._cases[force].get(case_id)
            if case is not None and case.timer_at == at:
                changes.extend(self._refresh(force, case_id))
        return changes

    # -- reading -------------------------------------------------------------

    def findings(self) -> Iterator[Finding]:
        """Every finding ever opened, in its final state, ordered by force, case, kind.

        A force's own findings (`deterioration`, `volume_anomaly`) come first, as of the
        latest `report()`.
        """
        for force in sorted(self._cases):
            yield from self._force_findings.get(force, ())
            cases, retired = self._cases[force], self._retired[force]
            live = [cid for cid, c in cases.items() if c.findings]
            for case_id in sorted([*live, *(cid for cid, r in retired.items() if r.findings)]):
                case = cases.get(case_id)
                if case is None:
                    yield from retired[case_id].findings
                    continue
                found = case.findings or {}
                for kind in sorted(found):
                    yield found[kind]

    def open_counts(self) -> Counter[tuple[str, FindingKind]]:
        """Open case findings per force and kind (force-level ones are in the report's rows)."""
        return Counter({k: v for k, v in self._open.items() if v})

    def last_event_times(self) -> dict[str, int]:
        """Per force, the event time of its latest event: a silent force stands still."""
        return dict(self._last_event)

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

    def case_state(self, force: str, case_id: str) -> CaseState | None:
        """The engine's own state of one case, to read (explanations); never to change."""
        return self._cases.get(force, {}).get(case_id)

    @property
    def forces(self) -> tuple[str, ...]:
        return tuple(sorted(self._cases))

    def case_count(self) -> int:
        return sum(len(c) for c in self._cases.values())

    def pending_count(self) -> int:
        """Cases with events but no `case.recorded` yet: held, not judged."""
        return sum(1 for cases in self._cases.values() for c in cases.values() if not c.recorded)

    # -- retirement (retirement.py) ---------------------------------------------

    def retirable(self, before_us: int) -> list[tuple[str, str]]:
        """(force, case id) of the cases whose every moment lies before `before_us` and for
        which time alone can open nothing more."""
        found = []
        for force, cases in self._cases.items():
            # A duty known only after it arose keeps its case: the review times a
            # retired case keeps hold one duty, not the steps (known_duty.py).
            late = self._book.known_duties(force)
            found += [
                (force, case_id)
                for case_id, case in cases.items()
                if can_retire(case, before_us) and case_id not in late
            ]
        return sorted(found)

    def retire(self, force: str, case_id: str) -> Retired:
        """Drop a case, keeping what it still contributes (its findings, its own duty)."""
        case = self._cases[force].pop(case_id)
        review = self._book.retire(force, case_id, case)
        decisions = self._book.decisions(force, case_id)
        linked_from = self._linked_from[force]
        linked_from.drop_target(case_id)  # it will never change again: nobody to tell
        for version in case.versions or ():
            linked_from.drop_source(case_id, version.linked)
        found = case.findings or {}
        retired = Retired(
            force,
            case_id,
            case.own_duty_at,
            tuple(found[k] for k in sorted(found)),
            review,
            decisions,
            first_moment(case, decisions),
        )
        self._retired[force].keep(retired)
        return retired

    def absorb(
        self, retired: Retired, ids: Iterable[tuple[str, str]], valid: int, duplicate: int
    ) -> None:
        """Take back a case retired by an engine before this one (restoring a worker): its
        findings and own duty, its event ids (scope, id) and its share of the counts."""
        self._retired[retired.force].keep(retired)
        self._book.absorb(retired)
        for finding in retired.findings:
            if finding.status == "open":
                self._open[(finding.force, finding.kind)] += 1
        for scope, event_id in ids:
            self._seen.setdefault(scope, {})[event_id] = CONTENT_UNKNOWN
        self.valid += valid
        self.duplicate += duplicate

    def absorb_archive(self, archived: Archived) -> None:
        """Take back an archive record of retired cases from its summary alone: their ids,
        their share of the counts and of the open findings. The cases themselves are read
        when first asked for (retired_store.py)."""
        for force, case_ids in archived.case_ids.items():
            self._retired[force].defer(case_ids, archived)
        for scope, event_ids in archived.event_ids.items():
            self._seen.setdefault(scope, {}).update(dict.fromkeys(event_ids, CONTENT_UNKNOWN))
        for force, kind, count in archived.open:
            self._open[(force, kind)] += count
        if archived.first_at is not None:
            self._book.note_event(archived.first_at)
        self.valid += archived.valid
        self.duplicate += archived.duplicate
        self._unsettled.append(archived)

    def resumed(self) -> None:
        """An engine read back in another process (a worker's snapshot): keep the ids of
        the events seen, not their content, which hash() fingerprinted differently
        there (a later event with one of these ids is a duplicate, whatever it holds,
        as for a retired case); and list the records of retired cases it holds unread,
        for `settle_some` and `settle_all`, each once."""
        for seen in self._seen.values():
            for event_id in seen:
                seen[event_id] = CONTENT_UNKNOWN
        listed = {id(archived) for archived in self._unsettled}
        for store in self._retired.values():
            for archived in store.unread():
                if id(archived) not in listed:
                    listed.add(id(archived))
                    self._unsettled.append(archived)

    def _settle(self, archived: Archived) -> None:
        """Read an absorbed archive record's cases: what the summary left out."""
        if archived.settled:
            return
        archived.settled = True
        for retired in archived.read():
            self._retired[retired.force].keep(retired)
            self._book.absorb(retired)

    def settle_some(self, records: int) -> bool:
        """Read up to `records` absorbed archive records not read yet; whether any remain."""
        while records > 0 and self._unsettled:
            archived = self._unsettled.pop()
            if not archived.settled:  # a lookup may have read it already
                self._settle(archived)
                records -= 1
        while self._unsettled and self._unsettled[-1].settled:
            self._unsettled.pop()
        return bool(self._unsettled)

    def settle_all(self) -> None:
        """Read every absorbed archive record not read yet."""
        for archived in self._unsettled:
            self._settle(archived)
        self._unsettled.clear()

    def is_retired(self, force: str, case_id: str) -> bool:
        retired = self._retired.get(force)
        return retired is not None and case_id in retired

    def held_force_counts(self, window_days: int) -> dict[str, ForceCounts]:
        """Section 9 counts for each force this engine holds cases of."""
        return {
            force: count_force(cases.values(), self.clock, window_days, self.ruleset.zone)
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

    # -- outliers and review points (docs/contract.md section 14) --------------------

    @property
    def first_event(self) -> int | None:
        """The event time of the earliest valid event: review points start after it."""
        return self._book.first_event

    def review_points(self) -> tuple[int, ...]:
        return self._book.review_points(self.clock)

    def held_review_counts(
        self, points: tuple[int, ...], window_days: int
    ) -> dict[str, tuple[ForceCounts, ...]]:
        """Per force held, its counts as of each review point (for `review_rows`)."""
        return self._book.review_counts(points, window_days)

    def held_actions(self) -> dict[tuple[str, str], list[Action]]:
        """The outlier actions held, by (force, outlier id), opened or not."""
        return self._book.held_actions()

    def outliers(self, window_days: int) -> tuple[Outlier, ...]:
        """Every outlier opened at the review points up to the clock, worked through."""
        return self._book.outliers(self.clock, window_days)

    def report(self, window_days: int, invalid: int = 0) -> Report:
        """The cross-force report as of the clock. The force-level findings it implies
        (`deterioration`, `volume_anomaly`, `outlier_overdue`) become those `findings()`
        lists, replacing the previous report's."""
        zone = self.ruleset.zone
        counts = {
            force: count_force(cases.values(), self.clock, window_days, zone)
            for force, cases in self._cases.items()
        }
        outliers = self.outliers(window_days)
        overdue = overdue_findings(outliers, self.ruleset.id, zone)
        open_found = Counter(self._open)
        open_found.update((f.force, f.kind) for f in overdue if f.status == "open")
        rows, national = cross_force(counts, open_found)
        self._force_findings = {}
        for found in (*force_findings(rows, self.ruleset.id, zone), *overdue):
            self._force_findings.setdefault(found.force, []).append(found)
        last_year = None if self.clock is None else one_year_before(self.clock, zone)
        # Last year's window lies mostly before what retirement keeps: retired cases count.
        before = {
            force: count_force(
                chain(cases.values(), self._book.retired_review(force)),
                last_year,
                window_days,
                zone,
            )
            for force, cases in self._cases.items()
        }
        return Report(
            as_of=self.clock,
            window_days=window_days,
            ruleset=self.ruleset.id,
            valid=self.valid,
            invalid=invalid,
            duplicate=self.duplicate,
            national=national,
            forces=rows,
            outliers=outliers,
            comparisons=compare(counts, before, self.peer_groups),
            peer_groups=self.peer_groups,
        )
