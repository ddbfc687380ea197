"""Wiring in one place: ruleset, forces, validator, engine. Called by commands, never at import."""

from __future__ import annotations

import gc
from dataclasses import dataclass

from refmon.schemas import EventAdapter, event_adapter, load_forces
from refmon.streams.bank_holidays import england_and_wales
from refmon.streams.engine import Engine, Ruleset
from refmon.streams.engine.peers import PeerGroups
from refmon.streams.peer_groups import regions
from refmon.streams.rulesets import DEFAULT_RULESET, load_ruleset


@dataclass(frozen=True, slots=True)
class Wiring:
    engine: Engine
    adapter: EventAdapter


def tune_gc() -> None:
    """Collect young garbage less often.

    Engine state is large, long-lived and free of reference cycles, and the
    cyclic collector's full passes over it cost about a fifth of a replay's
    time. Refcounting still frees everything acyclic at once.
    """
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()  # what start-up built (validators, tables) is never garbage


def new_engine(
    ruleset: str | Ruleset = DEFAULT_RULESET, peer_groups: PeerGroups | None = None
) -> Engine:
    """An engine for every force, judging by the ruleset (a shipped one's id, or one loaded),
    comparing forces within `peer_groups` (default: the police regions)."""
    chosen = load_ruleset(ruleset) if isinstance(ruleset, str) else ruleset
    forces = load_forces()
    return Engine(
        chosen,
        [f.code for f in forces],
        holidays=england_and_wales(),
        peer_groups=peer_groups or regions(forces),
    )


def build(
    ruleset: str | Ruleset = DEFAULT_RULESET, peer_groups: PeerGroups | None = None
) -> Wiring:
    return Wiring(new_engine(ruleset, peer_groups), event_adapter())
