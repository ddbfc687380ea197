"""Folding one event into its case, and re-deriving the case's duty (sections 5 and 6).

Pure state updates of one case: the engine decides which cases to touch and
when; these say what an event does to a case, and what its duty is after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from refmon.streams.engine.case import (
    NO_DUTY,
    RECORDED_RANK,
    UPDATED_RANK,
    CaseState,
    Duty,
    FactVersion,
    OwnDutyOf,
    duty,
    duty_after_insert,
    duty_relinked,
)
from refmon.streams.engine.links import LinkIndex
from refmon.streams.engine.model import CaseFacts, Closed, Event, Received, Referred
from refmon.streams.engine.rules import Ruleset

Rederive = Literal["rescan", "relinked"] | int | None
"""How a refresh re-derives the duty: not at all (None), after a version was
inserted at this index, from scratch, or after a linked case's own duty moved."""


def linked_ids(event: Event) -> tuple[str, ...]:
    """The cases a facts event links to: distinct, sorted, never the case itself."""
    assert isinstance(event.payload, CaseFacts)
    return tuple(sorted(set(event.payload.linked_case_ids) - {event.case_id}))


def fold(event: Event, case: CaseState, ruleset: Ruleset, linked_from: LinkIndex) -> int | None:
    """Fold the event into the case (and its links into the force's index); where its
    new fact version went, if it has one."""
    payload = event.payload
    if isinstance(payload, CaseFacts):
        rank = RECORDED_RANK if event.event_type == "case.recorded" else UPDATED_RANK
        linked = linked_ids(event)
        latest = case.latest
        if latest is not None and latest.linked == linked:
            linked = latest.linked  # one tuple for a case's unchanged links
        case.linked_count += linked_from.new_targets(event.case_id, linked)
        for other in linked:
            linked_from.add(event.case_id, other)
        return case.add_version(
            FactVersion(
                event.occurred_at_us,
                rank,
                event.event_id,
                ruleset.own_mask(payload),
                payload.assessed_mandatory,
                linked,
            )
        )
    if isinstance(payload, Referred):
        case.add_claim(event.occurred_at_us, event.event_id)
    elif isinstance(payload, Received):
        case.add_receipt(event.occurred_at_us, event.event_id)
    elif isinstance(payload, Closed):
        case.add_closure(event.occurred_at_us)
    return None


def rederive_duty(
    case: CaseState,
    lookup: OwnDutyOf,
    how: Rederive,
    linked_bit: int,
    deadline_after: Callable[[int], int],
) -> None:
    """Set the case's duty (and its deadline) again, as `how` says it may have moved."""
    arose = NO_DUTY
    versions = case.versions
    if case.recorded and versions:
        old = Duty(case.own_duty_at, case.duty_at, case.duty_mask, case.duty_event_id)
        if how == "relinked":
            arose = duty_relinked(versions, old, lookup, linked_bit)
        elif isinstance(how, int):
            arose = duty_after_insert(versions, how, old, lookup, linked_bit)
        else:
            arose = duty(versions, lookup, linked_bit)
    if arose.at is None:
        case.deadline_at = None
    elif arose.at != case.duty_at:
        case.deadline_at = deadline_after(arose.at)
    case.own_duty_at, case.duty_at, case.duty_mask, case.duty_event_id = arose
