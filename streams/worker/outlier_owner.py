"""Who owed the step an outlier was overdue on (docs/contract.md section 14), from its
history: the owner of the state whose deadline is the `outlier_overdue` finding's.

The worker sends a force the overdue findings of the steps it owes; a finding that
resolved while no worker held the force (a restart, a move to another worker) is
known only from the outlier, so this reads it there.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date, tzinfo

from refmon.streams.engine.outlier_model import (
    AWAITS,
    TRANSITIONS,
    Outlier,
    OutlierState,
    Owner,
)
from refmon.streams.engine.workdays import working_days_after


def overdue_owner(outlier: Outlier, zone: tzinfo, holidays: Set[date]) -> Owner | None:
    """The owner of the (latest) state whose deadline is `overdue_since`; None if none."""
    if outlier.overdue_since is None:
        return None
    owner: Owner | None = None
    state: OutlierState | None = "data_check"
    entered = outlier.opened_at
    for action in (*outlier.history, None):
        awaited = None if state is None else AWAITS.get(state)
        if awaited is not None and awaited.working_days is not None:
            due = working_days_after(entered, awaited.working_days, zone, holidays)
            if due == outlier.overdue_since:
                owner = awaited.owner
        if action is None or state is None:
            break
        if action.event_type == "outlier.closed":
            state = "closed"
        else:
            state = TRANSITIONS.get((state, action.event_type, action.detail))
        entered = action.occurred_at
    return owner
