"""The outliers (docs/contract.md section 14) as published rows: open ones as a worklist,
closed ones latest first, every recorded action, and how many stand in each state.

Outliers carry states and dates, never a case count, so they are published as
they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from refmon.bulletin.oversight import Outlier
from refmon.bulletin.public import Row
from refmon.streams.engine.outlier_model import STATES

LONDON = ZoneInfo("Europe/London")
STATE_ORDER = STATES


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(LONDON).date().isoformat()


def _last_day(due: datetime | None) -> str | None:
    """A deadline is the end (24:00) of a working day: name that day, not the next one."""
    return None if due is None else _day(due - timedelta(microseconds=1))


OUTLIER_COLUMNS = (
    "force",
    "force_name",
    "outlier_id",
    "measure",
    "level",
    "opened",
    "state",
    "awaits",
    "owner",
    "due_by",
    "past_deadline",
    "closed",
    "close_reason",
)
HISTORY_COLUMNS = ("force", "outlier_id", "date", "action", "outcome")


def outlier_row(o: Outlier, names: Mapping[str, str]) -> Row:
    return {
        "force": o.force,
        "force_name": names.get(o.force, o.force),
        "outlier_id": o.outlier_id,
        "measure": o.measure,
        "level": o.level,
        "opened": _day(o.opened_at),
        "state": o.state,
        "awaits": o.awaits,
        "owner": o.owner,
        "due_by": _last_day(o.due),
        "past_deadline": o.overdue,
        "closed": _day(o.closed_at),
        "close_reason": o.close_reason,
    }


def open_first_overdue(outliers: Sequence[Outlier]) -> list[Outlier]:
    """Open outliers as a worklist: the overdue first, then the nearest deadline (what falls
    overdue next; one with none, in monitoring, last), then by state (earliest stage first)."""
    far = datetime.max.replace(tzinfo=LONDON)
    return sorted(
        (o for o in outliers if o.state != "closed"),
        key=lambda o: (
            not o.overdue,
            o.due or far,
            STATE_ORDER.index(o.state),
            o.force,
            o.measure,
        ),
    )


def closed_latest_first(outliers: Sequence[Outlier]) -> list[Outlier]:
    closed = [o for o in outliers if o.state == "closed" and o.closed_at is not None]
    return sorted(closed, key=lambda o: (o.closed_at, o.force, o.measure), reverse=True)


def history_rows(outliers: Sequence[Outlier]) -> list[Row]:
    return [
        {
            "force": o.force,
            "outlier_id": o.outlier_id,
            "date": _day(a.occurred_at),
            "action": a.event_type,
            "outcome": a.outcome or a.reason,
        }
        for o in outliers
        for a in o.history
    ]


def state_counts(outliers: Sequence[Outlier]) -> list[Row]:
    """Open outliers by state, with how many of each are overdue (a count of outliers, not
    of cases: nothing to suppress)."""
    return [
        {
            "state": state,
            "open": sum(o.state == state for o in outliers),
            "overdue": sum(o.state == state and o.overdue for o in outliers),
        }
        for state in STATE_ORDER[:-1]
    ]
