"""Secondary suppression: the published figures attacked as an outsider would, and fixed.

Rounding to 5 leaves every published count a range, yet ranges can still close
on one value: a total of 150 with parts 145, 10 and a suppressed one leaves
the suppressed part at most 1 (152 - 143 - 8). So, before anything is
published, `protect` reads the public view as an attacker would (each count an
interval; each published relation, `total = sum of parts` or `rate = part /
whole`, narrowing the intervals until nothing moves) and withholds one more
figure of the relation that closed a suppressed cell (or, when it has none left,
one further out: `_victim`), until none closes.

Pure: intervals in, keys out. The adversary test attacks the files
independently of this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from refmon.bulletin.disclosure import SECONDARY, SUPPRESSED, Value

__all__ = ["DisclosureError", "Key", "Ratio", "Relation", "interval", "pinned", "protect"]

Key = tuple[str, ...]
Interval = tuple[float, float]
UNBOUNDED = 10.0**12


class DisclosureError(Exception):
    """The published figures would give a suppressed count away, and cannot be fixed."""


@dataclass(frozen=True, slots=True)
class Relation:
    whole: Key
    parts: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class Ratio:
    numerator: Key
    denominator: Key
    rate: Key
    """The published whole percent."""


Constraint = Relation | Ratio


def interval(value: Value, below: int, base: int) -> Interval:
    """The true counts a published count can hide."""
    if value == SUPPRESSED:
        return (1, below - 1)
    if value == SECONDARY or not isinstance(value, int):
        return (0, UNBOUNDED)
    if value == 0:
        return (0, 0)
    half = base // 2
    return (max(below, value - half), value + half)


def _narrow(bounds: dict[Key, Interval], key: Key, lo: float, hi: float) -> bool:
    old_lo, old_hi = bounds[key]
    new = (max(old_lo, math.ceil(lo - 1e-9)), min(old_hi, math.floor(hi + 1e-9)))
    if new == (old_lo, old_hi) or new[0] > new[1]:
        return False
    bounds[key] = new
    return True


def _apply(c: Constraint, bounds: dict[Key, Interval], rates: Mapping[Key, Value]) -> list[Key]:
    moved = []
    if isinstance(c, Relation):
        lows = sum(bounds[p][0] for p in c.parts)
        highs = sum(bounds[p][1] for p in c.parts)
        if _narrow(bounds, c.whole, lows, highs):
            moved.append(c.whole)
        w_lo, w_hi = bounds[c.whole]
        for p in c.parts:
            lo, hi = bounds[p]
            if _narrow(bounds, p, w_lo - (highs - hi), w_hi - (lows - lo)):
                moved.append(p)
        return moved
    pct = rates.get(c.rate)
    if not isinstance(pct, int):
        return moved
    r_lo, r_hi = max(0.0, (pct - 0.5) / 100), min(1.0, (pct + 0.5) / 100)
    n_lo, n_hi = bounds[c.denominator]
    if _narrow(bounds, c.numerator, r_lo * n_lo, r_hi * n_hi):
        moved.append(c.numerator)
    x_lo, x_hi = bounds[c.numerator]
    if r_lo > 0 and _narrow(bounds, c.denominator, x_lo / r_hi, x_hi / r_lo):
        moved.append(c.denominator)
    return moved


def pinned(
    counts: Mapping[Key, Value],
    rates: Mapping[Key, Value],
    constraints: Sequence[Constraint],
    below: int,
    base: int,
    rounds: int = 60,
) -> dict[Key, Constraint]:
    """Counts whose range the constraints close on one value from 1 to below - 1, each with
    the constraint that closed it."""
    bounds = {k: interval(v, below, base) for k, v in counts.items()}
    usable = [c for c in constraints if all(k in bounds for k in _keys(c))]
    closed: dict[Key, Constraint] = {}
    for _ in range(rounds):
        moved = False
        for c in usable:
            for key in _apply(c, bounds, rates):
                moved = True
                lo, hi = bounds[key]
                if lo == hi and 0 < lo < below:
                    closed.setdefault(key, c)
        if not moved:
            break
    return closed


def _keys(c: Constraint) -> tuple[Key, ...]:
    return (c.whole, *c.parts) if isinstance(c, Relation) else (c.numerator, c.denominator)


def protect(
    counts: dict[Key, Value],
    rates: dict[Key, Value],
    constraints: Sequence[Constraint],
    below: int,
    base: int,
    on_withhold: Callable[[Key], None],
) -> None:
    """Withhold figures (SECONDARY) until no suppressed count can be worked out. Each round
    withholds, per closed count, one more figure (`_victim`): each round shows one figure less
    or turns one "<below" into "any value", and there are finitely many, so it ends."""
    touching: dict[Key, list[Constraint]] = {}
    for c in constraints:
        for key in _keys(c):
            touching.setdefault(key, []).append(c)
    while True:
        closed = pinned(counts, rates, constraints, below, base)
        victims: set[Key] = set()
        for key, cause in closed.items():
            victim = _victim(key, cause, touching, counts, rates)
            if victim is None:
                raise DisclosureError(
                    f"{len(closed)} suppressed count(s) could be worked out and nothing is "
                    "left to withhold: no bulletin written"
                )
            victims.add(victim)
        if not victims:
            return
        for key in victims:
            if key in rates:
                rates[key] = SECONDARY
            else:
                if counts.get(key) == SUPPRESSED:
                    victims_rates = _explained_by(key, touching, rates)
                else:
                    victims_rates = []
                counts[key] = SECONDARY
                for rate in victims_rates:
                    rates[rate] = SECONDARY
                    on_withhold(rate)
            on_withhold(key)


def _victim(
    key: Key,
    cause: Constraint,
    touching: Mapping[Key, Sequence[Constraint]],
    counts: Mapping[Key, Value],
    rates: Mapping[Key, Value],
) -> Key | None:
    """The figure to withhold so that `key` opens again. Nearest constraints first: the one
    that closed it, then the others it is in, then, ring by ring, those of the keys they
    hold (the range may have closed elsewhere and only reached `key` through them). In each
    ring, by preference: the largest non-zero figure shown (or the rate); else a suppressed
    count published as "any value" instead of "<below" (a relation of suppressed counts and
    zeros, such as seven months of "<8" under a total of "<8", pins each month at 1 with
    nothing shown to withhold: only an upper bound of "<below" closes it); else a zero."""
    ring: list[Constraint] = [cause, *touching.get(key, ())]
    seen: set[Constraint] = set(ring)
    while ring:
        for pick in (_shown, _widened, _zero):
            found = next((v for c in ring if (v := pick(c, key, counts, rates))), None)
            if found is not None:
                return found
        keys = {k for c in ring for k in _keys(c)}
        ring = [c for k in sorted(keys) for c in touching.get(k, ()) if c not in seen]
        ring = list(dict.fromkeys(ring))
        seen.update(ring)
    return None


def _shown(
    c: Constraint, _: Key, counts: Mapping[Key, Value], rates: Mapping[Key, Value]
) -> Key | None:
    if isinstance(c, Ratio):
        return c.rate if isinstance(rates.get(c.rate), int) else None
    shown = [k for k in _keys(c) if isinstance(counts.get(k), int) and counts[k] != 0]
    return max(shown, key=lambda k: int(str(counts[k])), default=None)


def _widened(
    c: Constraint, key: Key, counts: Mapping[Key, Value], _: Mapping[Key, Value]
) -> Key | None:
    # The whole first: every closed part of the same relation then picks the same one cell.
    order = (c.whole, key, *c.parts) if isinstance(c, Relation) else (key, *_keys(c))
    return next((k for k in order if k in _keys(c) and counts.get(k) == SUPPRESSED), None)


def _zero(
    c: Constraint, _: Key, counts: Mapping[Key, Value], __: Mapping[Key, Value]
) -> Key | None:
    return next((k for k in _keys(c) if counts.get(k) == 0), None)


def _explained_by(
    key: Key, touching: Mapping[Key, Sequence[Constraint]], rates: Mapping[Key, Value]
) -> list[Key]:
    """The rates withheld ("[c]") because `key` is suppressed. A "[c]" says its numerator or
    the rest of its denominator is from 1 to below - 1, so once `key` reads "any value"
    they must read "[s]" too, or the "[c]" would give its "<below" back."""
    near = touching.get(key, ())
    found = []
    for c in {r for k in _keys_of(near) for r in touching.get(k, ()) if isinstance(r, Ratio)}:
        direct = key in (c.numerator, c.denominator)
        # key is in the rest: a part beside the numerator, or the whole, of the denominator
        rest = any(
            isinstance(r, Relation) and r.whole == c.denominator and c.numerator in r.parts
            for r in near
        )
        if (direct or rest) and rates.get(c.rate) == SUPPRESSED:
            found.append(c.rate)
    return sorted(found)


def _keys_of(constraints: Sequence[Constraint]) -> set[Key]:
    return {k for c in constraints for k in _keys(c)}
