"""Benchmark: `refmon run` over a simulated national stream of at least a million events.

Prints, side by side in one run: the baseline (the same file merely parsed line
by line with the standard json module), the whole `refmon run`, and the memory
held per case. Each command runs in its own process, so peak memory (max RSS)
is that command's alone. Usage: python bench/engine.py [--events N] [--fresh]

`--years 5` runs on five years at national volume instead (what outlier review
points cost: one review point a month end); `--before PYTHON` also times the
same run with another installed refmon (say, main's checkout), side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import shapes

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PY = sys.executable
REFMON = [PY, "-m", "refmon.cli"]


def stream(events: int, fresh: bool) -> Path:
    # 1.9x national volume over 1100 days gives ~1.09 million events.
    days = max(30, round(1100 * events / 1_090_000))
    # Ending in the past: a stream reaching past now would be refused as future-dated.
    path = CACHE / f"national-{days}d-x1.9-from2023.jsonl"
    if fresh or not path.exists():
        CACHE.mkdir(exist_ok=True)
        print(f"simulating {days} days at 1.9x national volume -> {path}", file=sys.stderr)
        subprocess.run(
            [
                *REFMON,
                "simulate",
                "--start",
                "2023-01-01",
                "--days",
                str(days),
                "--scale",
                "1.9",
                "--seed",
                "1",
                "--output",
                str(path),
            ],
            check=True,
        )
    return path


def years_stream(years: int, fresh: bool) -> Path:
    """`years` at national volume, ending before now (2021 onwards)."""
    days = round(365.25 * years)
    path = CACHE / f"national-{days}d-x1-from2021.jsonl"
    if fresh or not path.exists():
        CACHE.mkdir(exist_ok=True)
        print(f"simulating {days} days at national volume -> {path}", file=sys.stderr)
        subprocess.run(
            [*REFMON, "simulate", "--start", "2021-01-01", "--days", str(days), "--seed", "1",
             "--output", str(path)],
            check=True,
        )  # fmt: skip
    return path


def measure(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one command, run alone."""
    elapsed, _, rss = measure_cpu(argv)
    return elapsed, rss


def measure_cpu(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system: steadier than wall time on a shared
    machine) and peak RSS (bytes) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{argv} failed with status {status}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


BASELINE = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)\n"


def held_per_case(path: Path, limit: int) -> tuple[float, int, float, float]:
    """Bytes of engine state per case held, by tracemalloc, over the first `limit` events.

    Also times, on that state, one report (the baseline: what the metrics refresh
    already paid for) and one referral-delay snapshot (what the histogram adds).
    """
    import gc

    from refmon.streams.wire.translate import to_engine_event

    from refmon import bootstrap

    wiring = bootstrap.build()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with path.open("rb") as lines:
        for n, line in enumerate(lines):
            if n >= limit:
                break
            wiring.engine.apply(to_engine_event(wiring.adapter.validate_json(line)))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    cases = wiring.engine.case_count()
    started = time.perf_counter()
    wiring.engine.report(365)
    report_s = time.perf_counter() - started
    started = time.perf_counter()
    wiring.engine.referral_delays(365)
    delays_s = time.perf_counter() - started
    return (after - before) / cases, cases, report_s, delays_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_090_000, help="approximate stream size")
    parser.add_argument("--fresh", action="store_true", help="simulate the stream again")
    parser.add_argument(
        "--memory-events", type=int, default=300_000, help="events for the per-case figure"
    )
    parser.add_argument("--no-shapes", action="store_true", help="skip the adversarial shapes")
    parser.add_argument(
        "--runs-only",
        action="store_true",
        help="only the baseline and the run(s): no metrics run, memory figure or shapes",
    )
    parser.add_argument("--years", type=int, help="N years at national volume instead of --events")
    parser.add_argument(
        "--before", metavar="PYTHON", help="also time `refmon run` with this interpreter's refmon"
    )
    args = parser.parse_args()
    path = years_stream(args.years, args.fresh) if args.years else stream(args.events, args.fresh)
    with path.open("rb") as f:
        events = sum(1 for _ in f)
    size = path.stat().st_size
    print(f"stream: {events:,} events, {size / 1e6:.0f} MB, {path.name}")
    base_s, base_rss = measure([PY, "-c", BASELINE, str(path)])
    run_s, run_cpu, run_rss = measure_cpu(
        [
            *REFMON,
            "run",
            "--input",
            str(path),
            "--report",
            os.devnull,
            "--findings",
            os.devnull,
            "-q",
        ]
    )
    if args.runs_only:
        before_cpu = measure_cpu(
            [args.before, "-m", "refmon.cli", "run", "--input", str(path),
             "--report", os.devnull, "--findings", os.devnull, "-q"]
        ) if args.before else None  # fmt: skip
        print(f"{'':34}{'wall s':>9}{'CPU s':>9}{'events/s (CPU)':>16}{'peak RSS':>11}")
        print(f"{'baseline: json.loads per line':34}{base_s:9.2f}")
        for name, (wall, cpu, rss) in (
            ("refmon run", (run_s, run_cpu, run_rss)),
            *((("before: refmon run", before_cpu),) if before_cpu else ()),
        ):
            print(f"{name:34}{wall:9.2f}{cpu:9.2f}{events / cpu:16,.0f}{rss / 2**20:8.0f} MB")
        if before_cpu:
            print(f"refmon run / before, CPU: {run_cpu / before_cpu[1]:.3f}x")
        return
    metrics_s, metrics_rss = measure(
        [
            *REFMON,
            "run",
            "--input",
            str(path),
            "--report",
            os.devnull,
            "--metrics-port",
            "0",
            "-q",
        ]
    )
    before = None
    if args.before:
        before = measure_cpu(
            [args.before, "-m", "refmon.cli", "run", "--input", str(path),
             "--report", os.devnull, "--findings", os.devnull, "-q"]
        )  # fmt: skip
    idle_s, idle_rss = measure(
        [*REFMON, "run", "--input", os.devnull, "--report", os.devnull, "-q"]
    )
    per_case, cases, report_s, delays_s = held_per_case(path, args.memory_events)
    mib = 2**20
    rows = [
        ("baseline: json.loads per line", base_s, events / base_s, base_rss),
        ("refmon run (whole run)", run_s, events / run_s, run_rss),
        ("refmon run --metrics-port 0", metrics_s, events / metrics_s, metrics_rss),
        ("refmon run on empty input", idle_s, None, idle_rss),
    ]
    if before is not None:
        rows.insert(2, ("before: refmon run (--before)", before[0], events / before[0], before[2]))
    print()
    print(f"{'':34}{'seconds':>9}{'events/s':>12}{'peak RSS':>11}")
    for name, seconds, rate, rss in rows:
        shown = "" if rate is None else f"{rate:,.0f}"
        print(f"{name:34}{seconds:9.2f}{shown:>12}{rss / mib:8.0f} MB")
    print()
    print(f"refmon run / baseline time: {run_s / base_s:.2f}x")
    if before is not None:
        print(
            f"refmon run / before: wall {run_s / before[0]:.2f}x, CPU {run_cpu / before[1]:.2f}x "
            f"({run_cpu:.1f} s / {before[1]:.1f} s user+system)"
        )
    print(
        f"engine state per case held: {per_case:,.0f} bytes (tracemalloc, {cases:,} cases "
        f"from the first {args.memory_events:,} events; includes the event-id set)"
    )
    print(f"peak RSS above start-up per event: {(run_rss - idle_rss) / events:,.0f} bytes")
    print(
        f"on {cases:,} cases: report {report_s * 1000:,.1f} ms, "
        f"referral-delay snapshot {delays_s * 1000:,.1f} ms"
    )
    if not args.no_shapes:
        print()
        print("cost per event of adversarial shapes, beside the national stream's")
        print(f"{'':44}{'events':>8}{'seconds':>9}{'µs/event':>10}")
        national_us = (run_s - idle_s) / events * 1e6
        print(f"{'national stream (above)':44}{events:>8,}{run_s - idle_s:9.2f}{national_us:10.1f}")
        for name, shape in shapes.write(CACHE / "shapes").items():
            with shape.open("rb") as f:
                count = sum(1 for _ in f)
            seconds, _ = measure(
                [*REFMON, "run", "--input", str(shape), "--report", os.devnull, "-q"]
            )
            net = max(seconds - idle_s, 0.0)
            print(f"{name:44}{count:>8,}{net:9.2f}{net / count * 1e6:10.1f}")


if __name__ == "__main__":
    main()
