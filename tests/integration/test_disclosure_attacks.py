"""An adversary against the published bulletin: each attack of issue 18 tried on the files.

The attacker reads only the published CSV files (the page and its charts are drawn
from the same published figures). Every count becomes an interval of the values it
can hide: 0 is 0, a suppressed cell 1 to 7, a rounded r from r - 2 to r + 2. The
attacks narrow the intervals until nothing moves:

- sums in a row (due = on time + late + overdue; decided = the decisions) and in a
  column (the forces add up to the nation, the months to the year);
- proportion times denominator, both ways (a rate is a whole percent);
- two bulletins for consecutive periods (a year to November, a year to December:
  their totals differ by December);
- the CUSUM solved month by month for its late and on-time cases.

A count is recovered when its interval closes on one value. The tests hold that
no count from 1 to 4 that is truly in the report is ever recovered, and that the
same attacks on the unprotected report do recover some (so they are real attacks).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.integration.test_bulletin import SIMULATE

pytestmark = pytest.mark.slow

Key = tuple[str, ...]
"""(bulletin, table, force, month, column)."""
Interval = tuple[float, float]

BELOW = 8
COUNTS = ("recorded", "mandatory", "due", "on_time", "late", "overdue", "pending")
FORCE_COUNTS = (*COUNTS, "voluntary", "decided", "returned")
DECISIONS = ("independent", "directed", "local", "referred_back", "no_investigation")
RATES = {
    "compliance_pct": ("on_time", "due"),
    "mandatory_share_pct": ("mandatory", "recorded"),
    "returned_share_pct": ("returned", "decided"),
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A year to 1 December and a year to 1 January, from the same simulated events."""
    folder = tmp_path_factory.mktemp("attacks")
    events = folder / "events.jsonl"
    assert run_cli([*SIMULATE, "--output", str(events)]).status == 0
    november = folder / "events-to-november.jsonl"
    with events.open() as source, november.open("w") as out:
        out.writelines(
            line for line in source if json.loads(line)["occurred_at"] < "2025-12-01T00:00:00"
        )
    made = {}
    for name, given, as_of in (
        ("nov", november, "2025-12-01T00:00:00Z"),
        ("dec", events, "2026-01-01T00:00:00Z"),
    ):
        report = folder / f"report-{name}.json"
        args = ["run", "--input", str(given), "--as-of", as_of, "--report", str(report), "-q"]
        assert run_cli(args).status == 0
        made[name] = report
    return made


@pytest.fixture(scope="module")
def bulletins(
    reports: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    made = {}
    for name, report in reports.items():
        out = tmp_path_factory.mktemp(f"bulletin-{name}")
        result = run_cli(["bulletin", "--report", str(report), "--output", str(out), "-q"])
        assert result.status == 0, result.stderr
        made[name] = out
    return made


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((folder / name).read_text().splitlines()))


# What the attacker knows -------------------------------------------------------------


def published(cell: str, below: int = BELOW, secondary: bool = False) -> Interval:
    """The true counts a published count cell can hide."""
    if secondary:
        return (0, 10**12)  # withheld to protect another cell: anything
    if cell == "":
        return (1, below - 1)  # suppressed (an empty count cell is never "no data")
    value = int(cell)
    return (0, 0) if value == 0 else (max(below, value - 2), value + 2)


class Knowledge:
    """Intervals for counts, the sums that tie them, and the rates that tie two of them."""

    def __init__(self) -> None:
        self.bounds: dict[Key, Interval] = {}
        self.sums: list[tuple[Key, list[Key]]] = []
        self.rates: list[tuple[Key, Key, float]] = []

    def count(self, key: Key, cell: str | Interval, row: dict[str, str] | None = None) -> None:
        secondary = row is not None and key[-1] in row["secondary"].split()
        interval = published(cell, secondary=secondary) if isinstance(cell, str) else cell
        self.bounds[key] = interval

    def total(self, whole: Key, parts: Iterable[Key]) -> None:
        parts = list(parts)
        if whole in self.bounds and all(p in self.bounds for p in parts):
            self.sums.append((whole, parts))

    def rate(self, numerator: Key, denominator: Key, cell: str) -> None:
        if cell != "":  # withheld or secondary: no rate to use
            self.rates.append((numerator, denominator, float(cell)))

    def _narrow(self, key: Key, lo: float, hi: float) -> bool:
        old_lo, old_hi = self.bounds[key]
        new = (max(old_lo, math.ceil(lo - 1e-9)), min(old_hi, math.floor(hi + 1e-9)))
        assert new[0] <= new[1], f"the attacker's model contradicts itself at {key}"
        self.bounds[key] = new
        return new != (old_lo, old_hi)

    def solve(self, rounds: int = 50) -> dict[Key, Interval]:
        for _ in range(rounds):
            moved = False
            for whole, parts in self.sums:
                lows = sum(self.bounds[p][0] for p in parts)
                highs = sum(self.bounds[p][1] for p in parts)
                moved |= self._narrow(whole, lows, highs)
                w_lo, w_hi = self.bounds[whole]
                for p in parts:
                    lo, hi = self.bounds[p]
                    moved |= self._narrow(p, w_lo - (highs - hi), w_hi - (lows - lo))
            for num, den, pct in self.rates:
                # A whole percent p hides a rate from p - 0.5 to p + 0.5 percent.
                r_lo, r_hi = max(0.0, (pct - 0.5) / 100), min(1.0, (pct + 0.5) / 100)
                n_lo, n_hi = self.bounds[den]
                moved |= self._narrow(num, r_lo * n_lo, r_hi * n_hi)
                x_lo, x_hi = self.bounds[num]
                if r_lo > 0:
                    moved |= self._narrow(den, x_lo / r_hi, x_hi / r_lo)
            if not moved:
                break
        return self.bounds


def learn_bulletin(k: Knowledge, name: str, folder: Path) -> None:
    """Every published count and every relation the attacker can see in one bulletin."""
    months = [m["month"] for m in rows(folder, "national-monthly.csv")]
    for m in rows(folder, "national-monthly.csv"):
        for c in COUNTS:
            k.count((name, "nation", "", m["month"], c), m[c], m)
    for r in rows(folder, "forces.csv"):
        f = r["force"]
        for c in FORCE_COUNTS:
            k.count((name, "force", f, "", c), r[c], r)
        for d in DECISIONS:
            k.count((name, "force", f, "", f"decisions.{d}"), r[f"decisions.{d}"], r)
        for pct, (num, den) in RATES.items():
            k.rate((name, "force", f, "", num), (name, "force", f, "", den), r[pct])
    for m in rows(folder, "monthly.csv"):
        for c in COUNTS:
            k.count((name, "month", m["force"], m["month"], c), m[c], m)
        for pct, (num, den) in list(RATES.items())[:2]:
            key = (name, "month", m["force"], m["month"])
            k.rate((*key, num), (*key, den), m[pct])
    forces = sorted({r["force"] for r in rows(folder, "forces.csv")})
    for f in forces:
        own = (name, "force", f, "")
        k.total((*own, "due"), [(*own, c) for c in ("on_time", "late", "overdue")])
        k.total((*own, "decided"), [(*own, f"decisions.{d}") for d in DECISIONS])
        k.total((*own, "returned"), [(*own, f"decisions.{d}") for d in DECISIONS[3:]])
        for c in COUNTS:  # the months add up to the year
            k.total((*own, c), [(name, "month", f, m, c) for m in months])
        for m in months:
            key = (name, "month", f, m)
            k.total((*key, "due"), [(*key, c) for c in ("on_time", "late", "overdue")])
    for m in months:
        for c in COUNTS:  # the forces add up to the nation
            k.total((name, "nation", "", m, c), [(name, "month", f, m, c) for f in forces])
        key = (name, "nation", "", m)
        k.total((*key, "due"), [(*key, c) for c in ("on_time", "late", "overdue")])


def truth(name: str, report: dict[str, Any]) -> dict[Key, int]:
    known: dict[Key, int] = {}
    for m in report["national"]["monthly"]:
        for c in COUNTS:
            known[(name, "nation", "", m["month"], c)] = m[c]
    for r in report["forces"]:
        for c in FORCE_COUNTS:
            known[(name, "force", r["force"], "", c)] = r[c]
        for d in DECISIONS:
            known[(name, "force", r["force"], "", f"decisions.{d}")] = r["decisions"][d]
        for m in r["monthly"]:
            for c in COUNTS:
                known[(name, "month", r["force"], m["month"], c)] = m[c]
    return known


def recovered(bounds: dict[Key, Interval], known: dict[Key, int]) -> list[tuple[Key, int]]:
    """Counts from 1 to 4 the attacker pinned down, and which are right."""
    return [
        (key, int(lo))
        for key, (lo, hi) in bounds.items()
        if lo == hi and 1 <= lo <= 4 and known.get(key) == lo
    ]


# The attacks -----------------------------------------------------------------------


def test_sums_rates_and_two_consecutive_bulletins_recover_no_count_from_one_to_four(
    reports: dict[str, Path], bulletins: dict[str, Path]
) -> None:
    k = Knowledge()
    for name, folder in bulletins.items():
        learn_bulletin(k, name, folder)
    # Consecutive periods: the year to December is the year to November and December (the
    # simulated events start in January, so nothing leaves the window). Cases recorded are a
    # pure flow; the other counts move as late referrals and re-assessments arrive.
    for r in rows(bulletins["dec"], "forces.csv"):
        f, c = r["force"], "recorded"
        k.total(
            ("dec", "force", f, "", c),
            [("nov", "force", f, "", c), ("dec", "month", f, "2025-12", c)],
        )
    known = {**truth("nov", json.loads(reports["nov"].read_text()))}
    known |= truth("dec", json.loads(reports["dec"].read_text()))
    small = sum(1 for v in known.values() if 1 <= v <= 4)
    assert small > 100  # there is plenty to protect
    assert recovered(k.solve(), known) == []


def test_the_same_attacks_on_the_unprotected_figures_do_recover_small_counts(
    reports: dict[str, Path],
) -> None:
    """The attacks are real: given each force's total and all but one part (what a table
    suppressing cells one by one published), they recover the hidden part."""
    report = json.loads(reports["dec"].read_text())
    k = Knowledge()
    for r in report["forces"]:
        own = ("dec", "force", r["force"], "")
        parts = {c: r[c] for c in ("on_time", "late", "overdue")}
        k.count((*own, "due"), (r["due"], r["due"]))
        for c, v in parts.items():
            shown = (1, 4) if 0 < v < 5 else (v, v)
            k.count((*own, c), shown)
        k.total((*own, "due"), [(*own, c) for c in parts])
    assert recovered(k.solve(), truth("dec", report))


def cusum_steps(p0: float, p1: float) -> tuple[float, float]:
    """What one late case and one on-time case add to the CUSUM (docs/contract.md section 11)."""
    return math.log(p1 / p0), math.log((1 - p1) / (1 - p0))


def solve_month(
    before: Interval, after: Interval, on_time: Interval, late_step: float, on_time_step: float
) -> set[int]:
    """The late-or-overdue counts that take the CUSUM from `before` to `after` in a month
    without touching zero or the threshold, for any on-time count in its interval."""
    found: set[int] = set()
    for o in range(int(on_time[0]), int(on_time[1]) + 1):
        lo = (after[0] - before[1] - on_time_step * o) / late_step
        hi = (after[1] - before[0] - on_time_step * o) / late_step
        found |= set(range(max(0, math.ceil(lo)), math.floor(hi) + 1))
    return found


def test_the_monthly_cusum_cannot_be_solved_for_a_months_late_cases(
    reports: dict[str, Path], bulletins: dict[str, Path]
) -> None:
    report = json.loads(reports["dec"].read_text())
    national = report["national"]
    late_step, on_time_step = cusum_steps(national["timeliness_p0"], national["timeliness_p1"])
    folder = bulletins["dec"]
    assert "deadline" not in next(csv.reader((folder / "cusum.csv").read_text().splitlines()))
    on_time = {
        (m["force"], m["month"]): published(m["on_time"]) for m in rows(folder, "monthly.csv")
    }
    states: dict[str, list[dict[str, str]]] = {}
    for row in rows(folder, "cusum.csv"):
        states.setdefault(row["force"], []).append(row)
    pinned = []
    for force, series in states.items():
        for prev, this in itertools.pairwise(series):
            if this["signalled"] == "true" or this["cusum"] == "0":
                continue  # a reset or a stay at zero hides the month's steps altogether
            s0, s1 = int(prev["cusum"]), int(this["cusum"])
            candidates = solve_month(
                (max(0.0, s0 - 0.5), s0 + 0.5),
                (s1 - 0.5, s1 + 0.5),
                on_time.get((force, this["month"]), (0, 0)),
                late_step,
                on_time_step,
            )
            if len(candidates) == 1 and 1 <= min(candidates) <= 4:
                pinned.append((force, this["month"], min(candidates)))
    assert pinned == []


def test_the_full_precision_path_of_the_report_can_be_solved_step_by_step(
    reports: dict[str, Path],
) -> None:
    """The attack is real: on the report's own per-deadline path, one step's rise is a
    whole number of late cases less on-time ones (what cusum.csv used to publish)."""
    report = json.loads(reports["dec"].read_text())
    national = report["national"]
    late_step, on_time_step = cusum_steps(national["timeliness_p0"], national["timeliness_p1"])
    decoded = 0
    for r in report["forces"]:
        path = r["timeliness_path"]
        for prev, this in itertools.pairwise(path):
            rise = this["cusum"] - prev["cusum"]
            if this["signal"] or this["cusum"] == 0 or rise <= 0:
                continue
            exact = [
                (late, ok)
                for late in range(1, 5)
                for ok in range(0, 40)
                if abs(late * late_step + ok * on_time_step - rise) < 1e-9
            ]
            decoded += len(exact) == 1
    assert decoded > 100
