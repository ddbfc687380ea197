"""What outlier management keeps beyond the cases (docs/contract.md section 14).

The engine judges cases; this book keeps what the review points and the
outliers need besides: every outlier action (opened or not), every decision
of the cases that had more than one, the review times of retired cases, and
the earliest event time. From those and the engine's cases it gives each
force's counts at every review point and the outliers worked through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from datetime import date

from refmon.streams.engine.case import CaseState, DecisionRecord
from refmon.streams.engine.counts import ForceCounts
from refmon.streams.engine.known_duty import KnownDuty, known_duties
from refmon.streams.engine.outlier_model import Action, Outlier
from refmon.streams.engine.outliers import open_outliers
from refmon.streams.engine.retirement import Retired, review_times
from refmon.streams.engine.review import review_counts, review_points, review_rows
from refmon.streams.engine.rules import Ruleset


class OutlierBook:
    """Section 14's own state, and the review counts and outliers read from it."""

    __slots__ = (
        "_actions",
        "_cases",
        "_deadline_after",
        "_decided",
        "_retired",
        "_review",
        "_settle_all",
        "first_event",
        "holidays",
        "ruleset",
    )

    def __init__(
        self,
        ruleset: Ruleset,
        cases: Mapping[str, Mapping[str, CaseState]],
        retired: Mapping[str, Mapping[str, Retired]],
        deadline_after: Callable[[int], int],
        holidays: Set[date],
        settle_all: Callable[[], None] = lambda: None,
    ) -> None:
        """`cases` and `retired`: the engine's own, by force (read, never changed);
        `settle_all` reads the retired cases a restore left unread (retired_store.py),
        whose review times and decisions this book then holds."""
        self.ruleset = ruleset
        self.holidays = holidays
        self._cases = cases
        self._retired = retired
        self._deadline_after = deadline_after
        self._settle_all = settle_all
        # (force, outlier id) -> its actions, whether or not it has opened
        self._actions: dict[tuple[str, str], list[Action]] = {}
        # force -> case id -> every decision, for the few cases with more than one: a
        # review point before the latest must see the one known then (review.py)
        self._decided: dict[str, dict[str, list[DecisionRecord]]] = {f: {} for f in cases}
        # force -> retired case id -> the times its review counts still need: a review
        # point a window back still counts it, though no figure now does
        self._review: dict[str, dict[str, CaseState]] = {f: {} for f in cases}
        self.first_event: int | None = None
        """The event time of the earliest valid event: review points start after it."""

    # -- keeping -----------------------------------------------------------------

    def note_event(self, occurred_at_us: int) -> None:
        if self.first_event is None or occurred_at_us < self.first_event:
            self.first_event = occurred_at_us

    def add_action(self, force: str, outlier_id: str, action: Action) -> None:
        self._actions.setdefault((force, outlier_id), []).append(action)

    def add_decision(
        self, force: str, case_id: str, held: CaseState, record: DecisionRecord
    ) -> None:
        """Before the case takes `record`: keep every decision once it has more than one."""
        if held.decision is not None:
            history = self._decided[force].setdefault(case_id, [held.decision])
            history.append(record)

    def decisions(self, force: str, case_id: str) -> tuple[DecisionRecord, ...]:
        return tuple(self._decided[force].get(case_id, ()))

    def retire(self, force: str, case_id: str, case: CaseState) -> CaseState:
        """Keep a retiring case's review times; returns them."""
        review = review_times(case)
        self._review[force][case_id] = review
        return review

    def absorb(self, retired: Retired) -> None:
        """Take back what a case retired by an earlier engine keeps for section 14."""
        force, case_id = retired.force, retired.case_id
        if retired.review is not None:
            self._review[force][case_id] = retired.review
        if retired.decisions:
            self._decided[force][case_id] = list(retired.decisions)
        if retired.first_at is not None:
            self.note_event(retired.first_at)

    def retired_review(self, force: str) -> Iterable[CaseState]:
        """The review times of the force's retired cases (last year's window counts them)."""
        self._settle_all()
        return self._review[force].values()

    # -- reading -----------------------------------------------------------------

    def held_actions(self) -> dict[tuple[str, str], list[Action]]:
        return {key: list(found) for key, found in self._actions.items()}

    def review_points(self, clock: int | None) -> tuple[int, ...]:
        return review_points(self.first_event, clock, self.ruleset.zone)

    def review_counts(
        self, points: tuple[int, ...], window_days: int, every_force: bool = False
    ) -> dict[str, tuple[ForceCounts, ...]]:
        """Per force, its counts as of each review point; without `every_force`, only
        the forces with cases, live or retired."""
        self._settle_all()
        return {
            force: review_counts(
                cases,
                points,
                window_days,
                self._decided[force],
                self._review[force],
                self.known_duties(force),
            )
            for force, cases in self._cases.items()
            if every_force or cases or self._review[force]
        }

    def outliers(self, clock: int | None, window_days: int) -> tuple[Outlier, ...]:
        """Every outlier opened at the review points up to the clock, worked through."""
        if clock is None:
            return ()
        points = self.review_points(clock)
        rows_at = review_rows(points, self.review_counts(points, window_days, every_force=True))
        zone = self.ruleset.zone
        return open_outliers(points, rows_at, self._actions, clock, zone, self.holidays)

    def known_duties(self, force: str) -> dict[str, tuple[KnownDuty, ...]]:
        """The force's live cases whose duty became known only after it arose."""
        bit = self.ruleset.linked_bit
        if not bit:
            return {}
        cases, retired, review = self._cases[force], self._retired[force], self._review[force]

        def linked_known(case_id: str) -> tuple[int | None, int | None]:
            case = cases.get(case_id)
            if case is not None:
                return case.own_duty_at, case.recorded_at
            gone = retired.get(case_id)
            if gone is None:
                return None, None
            times = review.get(case_id)
            return gone.own_duty_at, None if times is None else times.recorded_at

        found: dict[str, tuple[KnownDuty, ...]] = {}
        for case_id, case in cases.items():
            if case.duty_mask & bit:
                steps = known_duties(case, linked_known, bit, self._deadline_after)
                if steps is not None:
                    found[case_id] = steps
        return found
