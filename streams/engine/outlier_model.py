"""The outlier's own types (docs/contract.md section 14): its states, what each awaits,
and the worked-through outlier the report carries. Apart from outliers.py so that the
report can name an outlier without importing the rules that open one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, get_args

from refmon.streams.engine.vocabulary import FindingKind

Measure = Literal["compliance", "mandatory_share", "returned_share", "timeliness"]
MEASURES: Final[tuple[Measure, ...]] = (
    "compliance",
    "mandatory_share",
    "returned_share",
    "timeliness",
)
Level = Literal["alert", "alarm"]
Owner = Literal["watchdog", "force"]
OutlierState = Literal[
    "data_check",
    "notify",
    "awaiting_response",
    "under_review",
    "action_plan",
    "monitoring",
    "closed",
]
STATES: Final[tuple[OutlierState, ...]] = get_args(OutlierState)
"""In the order an outlier goes through them."""
KIND: Final[FindingKind] = "outlier_overdue"


class Awaited(NamedTuple):
    action: str
    owner: Owner
    working_days: int | None


AWAITS: Final[Mapping[OutlierState, Awaited]] = {
    "data_check": Awaited("outlier.checked", "watchdog", 10),
    "notify": Awaited("outlier.notified", "watchdog", 5),
    "awaiting_response": Awaited("outlier.responded", "force", 25),
    "under_review": Awaited("outlier.reviewed", "watchdog", 30),
    "action_plan": Awaited("outlier.action_plan", "force", 30),
    "monitoring": Awaited("outlier.closed", "watchdog", None),
}

TRANSITIONS: Final[Mapping[tuple[OutlierState, str, str | None], OutlierState]] = {
    ("data_check", "outlier.checked", "confirmed"): "notify",
    ("data_check", "outlier.checked", "data_error"): "closed",
    ("notify", "outlier.notified", None): "awaiting_response",
    ("awaiting_response", "outlier.responded", None): "under_review",
    ("under_review", "outlier.reviewed", "explained"): "closed",
    ("under_review", "outlier.reviewed", "confirmed"): "action_plan",
    ("action_plan", "outlier.action_plan", None): "monitoring",
}
"""Every move but `outlier.closed`, which closes any open state with its own reason."""


class Opening(NamedTuple):
    """An outlier opened at a review point."""

    outlier_id: str
    force: str
    measure: Measure
    level: Level
    z: float | None
    opened_at: int


class Step(NamedTuple):
    """A step an outlier awaited with a deadline: by when, and who owed it."""

    due: int
    owner: Owner


class Action(NamedTuple):
    """One outlier action event, reduced to what the state machine reads."""

    occurred_at: int
    event_id: str
    event_type: str
    detail: str | None
    """The payload's `outcome` or `reason`, where it has one."""


@dataclass(frozen=True, slots=True)
class Outlier:
    outlier_id: str
    force: str
    measure: Measure
    level: Level
    z: float | None
    opened_at: int
    state: OutlierState
    entered_at: int
    """When the current state was entered."""
    awaits: str | None
    owner: Owner | None
    due: int | None
    overdue: bool
    closed_at: int | None
    close_reason: str | None
    ignored_actions: int
    history: tuple[Action, ...]
    overdue_since: int | None = None
    """The deadline of the latest state left (or still held) past its deadline: the
    `outlier_overdue` finding's detection time; None when never overdue."""
    overdue_owner: Owner | None = None
    """Who owed the step due at `overdue_since`: the worker tells the force of the findings
    on its own steps. Not in the report (section 14 lists its fields)."""
    steps: tuple[Step, ...] = ()
    """Every step with a deadline the outlier has been in, oldest first: whose step a
    finding announced earlier was about, from its deadline alone (`owner_of_step_due`)."""

    def open_at(self, instant: int) -> bool:
        """Still open at `instant` (closed by an action at or before it: not open)."""
        return self.opened_at <= instant and (self.closed_at is None or self.closed_at > instant)

    def owner_of_step_due(self, deadline: int | None) -> Owner | None:
        """Who owed the (latest) step due at `deadline`; None if no step was."""
        owners = [step.owner for step in self.steps if step.due == deadline]
        return owners[-1] if owners else None
