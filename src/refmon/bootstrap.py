"""Wiring in one place: ruleset, forces, validator, engine. Called by commands, never at import."""

from __future__ import annotations

from dataclasses import dataclass

from refmon.schemas import EventAdapter, event_adapter, load_forces
from refmon.streams.engine import Engine
from refmon.streams.rulesets import DEFAULT_RULESET, load_ruleset


@dataclass(frozen=True, slots=True)
class Wiring:
    engine: Engine
    adapter: EventAdapter


def build(ruleset_id: str = DEFAULT_RULESET) -> Wiring:
    ruleset = load_ruleset(ruleset_id)
    engine = Engine(ruleset, [f.code for f in load_forces()])
    return Wiring(engine, event_adapter())
