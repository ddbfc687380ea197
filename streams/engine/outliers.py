"""Outlier management (docs/contract.md section 14): each flagged force measure worked to a close.

Pure functions: which outliers open at the review points (from each point's
cross-force rows, review.py), and what each outlier's actions make of it. An
outlier's actions are applied in (occurred_at, event_id) order whatever order
they arrived in, so its state depends only on the set of its actions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import date, tzinfo

from refmon.streams.engine.findings import Finding, Status, finding_id
from refmon.streams.engine.months import month_label
from refmon.streams.engine.outlier_model import (
    AWAITS,
    KIND,
    MEASURES,
    TRANSITIONS,
    Action,
    Level,
    Measure,
    Opening,
    Outlier,
    OutlierState,
    Step,
)
from refmon.streams.engine.report import ForceRow
from refmon.streams.engine.timeutil import from_micros, local_label
from refmon.streams.engine.workdays import working_days_after


def outlier_id(measure: str, month_ended: str) -> str:
    return f"{measure}-{month_ended}"


def month_ended_at(review_point: int, zone: tzinfo) -> str:
    """`YYYY-MM` of the month that ends at a review point (00:00 on the 1st, local)."""
    return month_label(from_micros(review_point - 1).astimezone(zone).date())


def flagged(row: ForceRow) -> Iterable[tuple[Measure, Level, float | None]]:
    """The measures of a force row that flag an outlier, with level and z."""
    for measure, status, z in (
        ("compliance", row.compliance_status, row.compliance_z),
        ("mandatory_share", row.mandatory_share_status, row.mandatory_share_z),
        ("returned_share", row.returned_share_status, row.returned_share_z),
    ):
        if status in ("alert", "alarm"):
            yield measure, status, z  # type: ignore[misc]
    if row.timeliness_status == "signal":
        yield "timeliness", "alarm", None


def _step(state: OutlierState, entered: int, zone: tzinfo, holidays: Set[date]) -> Step | None:
    awaited = AWAITS.get(state)
    if awaited is None or awaited.working_days is None:
        return None
    return Step(working_days_after(entered, awaited.working_days, zone, holidays), awaited.owner)


def work_through(
    opening: Opening,
    actions: Iterable[Action],
    as_of: int,
    zone: tzinfo,
    holidays: Set[date],
) -> Outlier:
    """Apply an outlier's actions (those up to `as_of`) in (occurred_at, event_id) order."""
    state: OutlierState = "data_check"
    entered = opening.opened_at
    step = _step(state, entered, zone, holidays)
    steps = [] if step is None else [step]
    closed_at: int | None = None
    reason: str | None = None
    ignored = 0
    overdue_step: Step | None = None
    history: list[Action] = []
    for action in sorted(actions):
        if action.occurred_at > as_of:
            continue
        if action.occurred_at <= opening.opened_at or state == "closed":
            ignored += 1
            continue
        if action.event_type == "outlier.closed":
            following: OutlierState | None = "closed"
        else:
            following = TRANSITIONS.get((state, action.event_type, action.detail))
        if following is None:
            ignored += 1
            continue
        if step is not None and step.due < action.occurred_at:
            overdue_step = step  # it was overdue until this action arrived
        history.append(action)
        state, entered = following, action.occurred_at
        if state == "closed":
            closed_at = action.occurred_at
            reason = action.detail  # data_error, explained, or outlier.closed's reason
            step = None
        else:
            step = _step(state, entered, zone, holidays)
            if step is not None:
                steps.append(step)
    overdue = step is not None and step.due <= as_of
    if overdue:
        overdue_step = step
    awaited = AWAITS.get(state)
    return Outlier(
        outlier_id=opening.outlier_id,
        force=opening.force,
        measure=opening.measure,
        level=opening.level,
        z=opening.z,
        opened_at=opening.opened_at,
        state=state,
        entered_at=entered,
        awaits=None if awaited is None else awaited.action,
        owner=None if awaited is None else awaited.owner,
        due=None if step is None else step.due,
        overdue=overdue,
        closed_at=closed_at,
        close_reason=reason,
        ignored_actions=ignored,
        history=tuple(history),
        overdue_since=None if overdue_step is None else overdue_step.due,
        overdue_owner=None if overdue_step is None else overdue_step.owner,
        steps=tuple(steps),
    )


def open_outliers(
    points: Sequence[int],
    rows_at: Sequence[Iterable[ForceRow]],
    actions: Mapping[tuple[str, str], Iterable[Action]],
    as_of: int,
    zone: tzinfo,
    holidays: Set[date],
) -> tuple[Outlier, ...]:
    """Every outlier opened at the review points, worked through to `as_of`.

    `rows_at[i]` are the cross-force rows as of `points[i]` (review.py);
    `actions` holds every outlier action by (force, outlier_id), opened or not.
    Sorted by force, then opened_at, then measure.
    """
    latest: dict[tuple[str, Measure], tuple[int, Outlier]] = {}
    found: list[Outlier] = []
    for index, (point, rows) in enumerate(zip(points, rows_at, strict=True)):
        month = month_ended_at(point, zone)
        for row in rows:
            for measure, level, z in flagged(row):
                before = latest.get((row.force, measure))
                if before is not None:
                    opened_index, previous = before
                    if previous.open_at(point) or index - opened_index <= 2:
                        continue
                ident = outlier_id(measure, month)
                opening = Opening(ident, row.force, measure, level, z, point)
                outlier = work_through(
                    opening, actions.get((row.force, ident), ()), as_of, zone, holidays
                )
                latest[(row.force, measure)] = (index, outlier)
                found.append(outlier)
    order = {m: i for i, m in enumerate(MEASURES)}
    return tuple(sorted(found, key=lambda o: (o.force, o.opened_at, order[o.measure])))


def overdue_findings(
    outliers: Iterable[Outlier], ruleset_id: str, zone: tzinfo
) -> tuple[Finding, ...]:
    """An `outlier_overdue` finding per outlier that has ever been overdue: open while it is."""
    found = []
    for outlier in outliers:
        if outlier.overdue_since is None:
            continue
        status: Status = "open" if outlier.overdue else "resolved"
        awaited = AWAITS[outlier.state] if outlier.overdue else None
        due = local_label(outlier.overdue_since, zone)
        if awaited is None:
            summary = f"{outlier.force} outlier {outlier.outlier_id} was overdue from {due}"
        else:
            summary = (
                f"{outlier.force} outlier {outlier.outlier_id} awaits {awaited.action} "
                f"from the {awaited.owner}, due by {due}"
            )
        found.append(
            Finding(
                finding_id=finding_id(KIND, outlier.force, outlier.outlier_id),
                kind=KIND,
                status=status,
                force=outlier.force,
                case_id=outlier.outlier_id,
                criteria=(),
                duty_arose_at=None,
                deadline=outlier.overdue_since,
                detected_at=outlier.overdue_since,
                summary=summary,
                ruleset=ruleset_id,
                duty_event_id=None,
                referral_event_id=None,
            )
        )
    return tuple(found)
