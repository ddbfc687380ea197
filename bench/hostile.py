"""Benchmark: hostile input shapes from issue 18, beside a normal file of as many lines.

- one case updated N times, each update naming 100 new linked_case_ids;
- N cases each linking 100 case ids never recorded;
- the first N lines of the simulated national stream (the baseline);
- `refmon explain` against `refmon run` on one case with 20,000 events (alternating
  serious and not; and the same case whose duty arises through a linked case).

Each command runs in its own process: peak RSS is that command's alone.
Usage: python bench/hostile.py [--lines N] [--refmon PYTHON]  (--refmon: another
interpreter with refmon installed, to measure a baseline build beside this one)
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

from engine import CACHE, measure, stream
from shapes import _event, _facts, one_case


def links_one_case(updates: int) -> Iterator[str]:
    yield _event(0, "case.recorded", "X", 0, _facts(False))
    for k in range(1, updates + 1):
        yield _event(k, "case.updated", "X", k, _facts(False, [f"n{k}-{j}" for j in range(100)]))


def links_many_cases(cases: int) -> Iterator[str]:
    for k in range(cases):
        linked = [f"n{k}-{j}" for j in range(100)]
        yield _event(k, "case.recorded", f"C{k}", k, _facts(False, linked))


def linked_story(updates: int) -> Iterator[str]:
    """Y is mandatory; X links to it and is updated `updates` times: X's duty is same_incident."""
    yield _event(10_000_000, "case.recorded", "Y", 0, _facts(True))
    yield _event(0, "case.recorded", "X", 0, _facts(False, ["Y"]))
    for k in range(1, updates):
        yield _event(k, "case.updated", "X", k, _facts(False, ["Y"]))


def _file(name: str, lines: Iterator[str]) -> Path:
    path = CACHE / f"hostile-{name}.jsonl"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        # Line by line: on Linux a child's peak RSS starts from its parent's at the fork,
        # so this process must stay small for the figures to be the command's own.
        with path.open("w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
    return path


def _national(lines: int) -> Path:
    source = stream(lines * 3 // 2, fresh=False)  # the simulator's events a day vary
    with source.open(encoding="utf-8") as whole:
        return _file(f"national-{lines}", (x.rstrip("\n") for x in itertools.islice(whole, lines)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--refmon", default=sys.executable, help="python with refmon installed")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    refmon = [args.refmon, "-m", "refmon.cli"]
    n = args.lines
    if not args.skip_memory:
        print(f"{'input (' + f'{n:,}' + ' lines)':<52} {'seconds':>8} {'peak RSS':>10}")
        for name, path in [
            ("national stream (baseline)", _national(n)),
            ("one case, each update 100 new linked ids", _file(f"one-{n}", links_one_case(n))),
            ("cases each linking 100 ids never recorded", _file(f"many-{n}", links_many_cases(n))),
        ]:
            seconds, rss = measure([*refmon, "run", "--input", str(path), "-q"])
            print(f"{name:<52} {seconds:8.1f} {rss / 2**20:8.0f} MB", flush=True)
    print()
    print(f"{'one case, 20,000 events':<52} {'run s':>8} {'explain s':>10}")
    for name, path in [
        ("serious and not, alternating", _file("story-20000", one_case(19_999, False))),
        ("duty through a linked case", _file("linked-story-20000", linked_story(20_000))),
    ]:
        run, _ = measure([*refmon, "run", "--input", str(path), "-q"])
        explain, _ = measure([*refmon, "explain", "--input", str(path), "--case", "DUR/X"])
        print(f"{name:<52} {run:8.1f} {explain:10.1f}", flush=True)


if __name__ == "__main__":
    main()
