"""How often the timeliness CUSUM signals by chance, and how often it catches a change.

For the table in docs/reading-the-report.md (docs/contract.md section 11): a force in
control refers late at exactly the national rate p0; how often is its `timeliness_status` `signal`
by chance at a given report, and how many signals does a 365-day window hold?
And if its odds of a late referral double for the last 90 days, how often does
it show `signal` at the end?

The volumes (mandatory cases due a year) and p0 come from a simulated national
year (`refmon simulate`, seed 1): the smallest, the median and the largest
force. Each force's year is then drawn day by day many times (cases due a day
~ Poisson, each late with probability p), and charted with the engine's own
CUSUM, one step per day as deadlines fall at local midnight.
Usage: python bench/cusum_signals.py [--runs N] [--seed N]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
from collections.abc import Iterator

from refmon.schemas import load_forces
from refmon.streams.engine import cusum
from refmon.streams.engine.cusum import Step
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.wire.translate import to_engine_event

from refmon import bootstrap
from refmon.simulation import SimConfig, simulate

WINDOW_DAYS = 365
CHANGE_DAYS = 90


def national_year(seed: int) -> tuple[dict[str, int], float]:
    """Due mandatory cases per force over a simulated year, and the national p0."""
    wiring = bootstrap.build()
    lines: list[str] = []
    simulate(SimConfig(days=WINDOW_DAYS, seed=seed), load_forces(), lines.append)
    for line in lines:
        wiring.engine.apply(to_engine_event(wiring.adapter.validate_json(line)))
    report = wiring.engine.report(WINDOW_DAYS)
    due = {row.force: row.counts.due for row in report.forces}
    p0 = report.national.timeliness_p0
    assert p0 is not None
    return due, p0


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _year(rng: random.Random, per_day: float, rates: list[float]) -> Iterator[Step]:
    for day, rate in enumerate(rates):
        due = _poisson(rng, per_day)
        if due:
            late = sum(1 for _ in range(due) if rng.random() < rate)
            yield Step((day + 1) * MICROS_PER_DAY, due, late)


def _status(steps: list[Step], params: cusum.Parameters) -> cusum.Timeliness:
    due = sum(s.due for s in steps)
    return cusum.timeliness(steps, due, params, WINDOW_DAYS * MICROS_PER_DAY)


def _odds_times(p: float, ratio: float) -> float:
    return ratio * p / (1 + (ratio - 1) * p)


def in_control(
    per_year: int, params: cusum.Parameters, runs: int, rng: random.Random
) -> tuple[float, float]:
    """(share of reports showing `signal`, mean signals in a window) for a force at p0."""
    steady = [params.p0] * WINDOW_DAYS
    found = [_status(list(_year(rng, per_year / WINDOW_DAYS, steady)), params) for _ in range(runs)]
    return (
        sum(t.status == "signal" for t in found) / runs,
        statistics.fmean(t.signals or 0 for t in found),
    )


def caught(
    per_year: int, params: cusum.Parameters, ratio: float, runs: int, rng: random.Random
) -> float:
    """Share showing `signal` when the odds of lateness were `ratio` times p0's for 90 days."""
    worse = _odds_times(params.p0, ratio)
    rates = [params.p0] * (WINDOW_DAYS - CHANGE_DAYS) + [worse] * CHANGE_DAYS
    found = [_status(list(_year(rng, per_year / WINDOW_DAYS, rates)), params) for _ in range(runs)]
    return sum(t.status == "signal" for t in found) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000, help="simulated years per volume")
    parser.add_argument("--seed", type=int, default=1, help="seed of the national year and draws")
    args = parser.parse_args()
    due, p0 = national_year(args.seed)
    params = cusum.parameters(sum(due.values()), 1 - p0)
    assert params is not None
    ranked = sorted(due.items(), key=lambda item: (item[1], item[0]))
    picks = {
        "smallest": ranked[0],
        "median": ranked[len(ranked) // 2],
        "largest": ranked[-1],
    }
    rng = random.Random(args.seed)
    print(
        f"national p0 {params.p0:.4f} (late or overdue), p1 {params.p1:.4f}, h {params.h}; "
        f"{args.runs} simulated years per figure"
    )
    print()
    print(
        "| force (cases due a year) | in control: `signal` at a report "
        "| in control: signals per 365-day window "
        "| odds of lateness x2 for 90 days: `signal` | x5: `signal` |"
    )
    print("|---|---|---|---|---|")
    for label, (force, per_year) in picks.items():
        chance, signals = in_control(per_year, params, args.runs, rng)
        double = caught(per_year, params, 2, args.runs, rng)
        fivefold = caught(per_year, params, 5, args.runs, rng)
        print(
            f"| {label}: {force} ({per_year}) | {chance:.2%} | {signals:.3f} "
            f"| {double:.0%} | {fivefold:.0%} |"
        )
    # Every force at its own volume: how many show a false `signal` at any one report.
    expected = sum(in_control(n, params, args.runs // 4, rng)[0] for n in due.values())
    print()
    print(f"all {len(due)} forces in control: {expected:.2f} in `signal` at a report, on average")


if __name__ == "__main__":
    main()
