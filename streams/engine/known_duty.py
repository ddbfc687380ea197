"""When a case's duty became known, for review points (docs/contract.md sections 6, 7, 14).

A review point is judged on the events dated at or before it (section 14).
Nearly always a duty is known from the moment it arose: the events that give
it are dated at or before that moment. The exception is the same-incident
criterion through a linked case recorded later than the moment: the linked
case's own earlier-dated facts wait for its recording (section 7), so a
review point between the two knows no such duty, and may know a later one
(another criterion, another linked case). For such a case the duty a review
point sees is a step function of the point: each step from `known_at` on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from refmon.streams.engine.case import CaseState

LinkedKnown = Callable[[str], "tuple[int | None, int | None]"]
"""A linked case id -> (when its own duty arose, when it was recorded); Nones if unknown."""


class KnownDuty(NamedTuple):
    """The duty that review points from `known_at` on see (until the next step)."""

    known_at: int
    duty_at: int
    deadline: int


def known_duties(
    case: CaseState,
    linked_known: LinkedKnown,
    linked_bit: int,
    deadline_after: Callable[[int], int],
) -> tuple[KnownDuty, ...] | None:
    """The duty's steps, earliest `known_at` first; None when it was known as it arose.

    Each version in force gives candidate moments (as `case.duty` does), each
    known from the moment itself or, through a linked case, from that case's
    recording if later. A review point sees the earliest candidate known by then.
    """
    versions = case.versions
    if case.duty_at is None or not case.duty_mask & linked_bit or not versions:
        return None
    candidates: list[tuple[int, int]] = []  # (known_at, moment)
    for index, version in enumerate(versions):
        until = versions[index + 1].at_us if index + 1 < len(versions) else None
        if until == version.at_us:
            continue  # shadowed by a version at the same instant: never in force
        if version.own_mask:
            candidates.append((version.at_us, version.at_us))
        for other in version.linked:
            own_at, recorded_at = linked_known(other)
            if own_at is None:
                continue
            moment = max(version.at_us, own_at)
            if until is None or moment < until:
                known = moment if recorded_at is None else max(moment, recorded_at)
                candidates.append((known, moment))
    steps: list[KnownDuty] = []
    for known_at, moment in sorted(candidates):
        # Sorted by known_at, then moment: a candidate counts only if it is earlier
        # than every one known before it (at the same known_at, the first wins).
        if not steps or moment < steps[-1].duty_at:
            steps.append(KnownDuty(known_at, moment, deadline_after(moment)))
    if len(steps) == 1 and steps[0].known_at == steps[0].duty_at:
        return None
    return tuple(steps)
