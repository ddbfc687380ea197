"""Benchmark: what outlier management (review points, docs/contract.md section 14) costs a replay.

Issue 20 allows a five-year replay to cost at most 25 % more than before outliers
were added. This replays one simulated five-year national stream through
`refmon run`, with and without the simulator's outlier actions (`--oversight`),
on this checkout's refmon and on the commit before section 14's code landed
(the parent of the first commit touching streams/engine/review.py or
outliers.py), checked out into a temporary worktree under /tmp and installed
there with this interpreter's pip (no dependencies fetched: it runs on this
interpreter's). Every run is its own process, one at a time; it prints wall
and CPU seconds (CPU is steadier on a shared machine) and peak RSS side by side.

Usage: python bench/review_points.py [--days 1826] [--scale 1] [--before COMMIT] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"
PY = sys.executable
START = "2021-01-01"
# The README's planted problems, so that outliers open and the actions have work to do.
PLANTED = [
    "--under-refer", "DUR,LINCS", "--late", "NBR:0.4", "--under-categorise", "SUS:0.6",
    "--deteriorate", "HERTS:2025-10-01:0.3", "--over-refer", "NOTTS:0.1",
]  # fmt: skip


def git(*argv: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *argv], check=True, capture_output=True, text=True
    ).stdout.strip()


def before_outliers() -> str:
    """The parent of the first commit that touched section 14's engine modules."""
    modules = ("streams/engine/review.py", "streams/engine/outliers.py")
    first = git("log", "--format=%H", "--", *modules)
    return git("rev-parse", first.splitlines()[-1] + "^")


def install_before(commit: str) -> Path:
    """`commit` checked out under /tmp and installed into a directory of its own."""
    tree = Path(f"/tmp/refmon-bench-{commit[:10]}")
    site = tree / ".site"
    if not (site / "refmon").exists():
        if not tree.exists():
            git("worktree", "add", "--detach", str(tree), commit)
        subprocess.run(
            [PY, "-m", "pip", "install", "-q", "--no-deps",
             "--target", str(site), str(tree)],
            check=True,
        )  # fmt: skip
    return site


def simulate(days: int, scale: float, oversight: bool, fresh: bool) -> Path:
    name = f"review-{days}d-x{scale:g}{'-oversight' if oversight else ''}.jsonl"
    path = CACHE / name
    if fresh or not path.exists():
        CACHE.mkdir(exist_ok=True)
        print(f"simulating -> {path}", file=sys.stderr)
        argv = [PY, "-m", "refmon.cli", "simulate", "--start", START, "--days", str(days),
                "--scale", str(scale), "--seed", "1", *PLANTED, "--output", str(path),
                "-q"]  # fmt: skip
        subprocess.run([*argv, "--oversight"] if oversight else argv, check=True)
    return path


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{argv} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def run(path: Path, site: Path | None) -> tuple[float, float, int]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if site is not None:
        # Ahead of this interpreter's own (editable) refmon on the import path.
        env["PYTHONPATH"] = str(site)
    argv = [PY, "-m", "refmon.cli", "run", "--input", str(path), "--report", os.devnull,
            "--findings", os.devnull, "-q"]  # fmt: skip
    return measure(argv, env)


def which(site: Path | None) -> str:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    code = "import refmon.streams.engine.engine as e; print(e.__file__)"
    return subprocess.run(
        [PY, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1826, help="simulated days (default 1826)")
    parser.add_argument("--scale", type=float, default=1.0, help="volume (default: national)")
    parser.add_argument("--before", metavar="COMMIT", help="the code to compare with")
    parser.add_argument("--fresh", action="store_true", help="simulate the streams again")
    args = parser.parse_args()
    commit = git("rev-parse", args.before) if args.before else before_outliers()
    site = install_before(commit)
    print(f"now:    {git('rev-parse', '--short', 'HEAD')} (+ working tree), {which(None)}")
    print(f"before: {commit[:10]}, {which(site)}")
    rows = []
    for oversight in (False, True):
        path = simulate(args.days, args.scale, oversight, args.fresh)
        with path.open("rb") as lines:
            events = sum(1 for _ in lines)
        label = "with --oversight" if oversight else "without actions"
        for name, where in (("before", site), ("now", None)):
            wall, cpu, rss = run(path, where)
            rows.append((label, events, name, wall, cpu, rss))
    print()
    print(f"{'stream':18}{'events':>10}{'code':>8}{'wall s':>9}{'CPU s':>9}{'peak RSS':>11}")
    for label, events, name, wall, cpu, rss in rows:
        print(f"{label:18}{events:>10,}{name:>8}{wall:9.2f}{cpu:9.2f}{rss / 2**20:8.0f} MB")
    print()
    for index in range(0, len(rows), 2):
        before, now = rows[index], rows[index + 1]
        print(
            f"{before[0]}: now / before  wall {now[3] / before[3]:.3f}x, "
            f"CPU {now[4] / before[4]:.3f}x, peak RSS {now[5] / before[5]:.3f}x"
        )


if __name__ == "__main__":
    main()
