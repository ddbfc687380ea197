"""Which cases declare a link to which (same force), and the bounds on what a case may hold.

The index answers one question: when a case's own duty moves, which cases
link to it and must be re-judged (the same-incident criterion). Most targets
have one source, so a target maps to that source's id itself and only
becomes a set at its second source: a set per link would cost several times
the link's own text, and links are the one part of an event that can name
many things the monitor has never seen (docs/contract.md section 2 allows 100 an
event).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from refmon.streams.engine.case import CaseState
    from refmon.streams.engine.retirement import Retired

__all__ = ["MAX_FACT_VERSIONS", "MAX_LINKED_IDS", "CaseLookup", "LinkIndex"]

MAX_FACT_VERSIONS = 25_000
"""`case.recorded`/`case.updated` events kept per case; beyond it, a dead letter."""
MAX_LINKED_IDS = 1_000
"""Distinct linked_case_ids per case over all its versions; beyond it, a dead letter."""


class LinkIndex:
    """Linked case id -> the ids of the cases that declare a link to it."""

    __slots__ = ("_sources",)

    def __init__(self) -> None:
        self._sources: dict[str, str | set[str]] = {}

    def __len__(self) -> int:
        return len(self._sources)

    def links(self, source: str, target: str) -> bool:
        held = self._sources.get(target)
        return held is not None and (held == source if isinstance(held, str) else source in held)

    def new_targets(self, source: str, targets: tuple[str, ...]) -> int:
        """How many of `targets` the source has not linked to before."""
        return sum(1 for t in targets if not self.links(source, t))

    def add(self, source: str, target: str) -> None:
        held = self._sources.get(target)
        if held is None:
            self._sources[target] = source
        elif isinstance(held, str):
            if held != source:
                self._sources[target] = {held, source}
        else:
            held.add(source)

    def sources(self, target: str) -> list[str]:
        """The cases linking to `target`, sorted (the order findings change in)."""
        held = self._sources.get(target)
        if held is None:
            return []
        return [held] if isinstance(held, str) else sorted(held)

    def drop_target(self, target: str) -> None:
        self._sources.pop(target, None)

    def drop_source(self, source: str, targets: tuple[str, ...]) -> None:
        for target in targets:
            held = self._sources.get(target)
            if held is None:
                continue
            if isinstance(held, str):
                if held == source:
                    del self._sources[target]
            else:
                held.discard(source)
                if len(held) == 1:
                    self._sources[target] = next(iter(held))


class CaseLookup:
    """When each case of one force became mandatory by its own criteria."""

    __slots__ = ("_cases", "_retired")

    def __init__(self, cases: dict[str, CaseState], retired: Mapping[str, Retired]) -> None:
        self._cases = cases
        self._retired = retired

    def __call__(self, case_id: str) -> int | None:
        case = self._cases.get(case_id)
        if case is not None:
            return case.own_duty_at
        retired = self._retired.get(case_id)
        return None if retired is None else retired.own_duty_at
