"""Benchmark: a partition's restore from its changelog, one year held and five, offline.

No Kafka: a simulated national history (times `--scale`) goes through intake and
one PartitionJudge holding every force (one partition: the worst case a worker
can hold), retiring as housekeeping does every `--retire-every` deliveries; the
records it would write are kept as a compacted changelog (latest value per key,
deletions dropped). Then, side by side, what restoring a fresh judge from that
changelog costs (`held` + `PartitionJudge.restore`, as recovery.py runs them):
process CPU time and wall time (best of `--repeat`), with the live deliveries
and retired cases held; and the CPU time of reading the retired cases
themselves, which a worker does after it serves, between batches. `--profile`
prints cProfile's top entries for the longest history. `--lived` judges each
history again and prints the snapshot of that judge, which holds its retired
cases read, as a running worker's does (a restored judge's holds archive
records unread). Histories and changelogs are cached in bench/.cache.

Usage: python bench/restore.py [--years 1,5] [--scale 0.3] [--repeat 3] [--profile] [--lived]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pickle
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from refmon.schemas import event_adapter, load_forces
from refmon.streams.engine.timeutil import MICROS_PER_DAY
from refmon.streams.kafka.state import ARCHIVE_VERSION, Held, held
from refmon.streams.kafka.topics import Topics, expected_source
from refmon.streams.wire.delivery import decode_delivery
from refmon.streams.worker import snapshot_pickle
from refmon.streams.worker.intake import Intake, WatchdogIds
from refmon.streams.worker.judge import JudgeState, PartitionJudge
from refmon.streams.worker.messages import Counts
from refmon.streams.worker.settings import WorkerSettings

from refmon import bootstrap, collector

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TOPICS = Topics("refmon")
END = "2026-01-01"
"""Histories end here, so every event lies before the time intake receives it."""
RECEIVED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

Changelog = dict[bytes, bytes]


def history(years: int, scale: float) -> Path:
    days = round(365.25 * years)
    start = time.strftime("%Y-%m-%d", time.gmtime(RECEIVED_MS / 1000 - days * 86_400))
    path = CACHE / f"restore-{days}d-x{scale:g}-from{start}-seed3.jsonl"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        print(f"simulating {days} days x{scale:g} -> {path}", file=sys.stderr)
        subprocess.run(
            [
                *(sys.executable, "-m", "refmon.cli", "simulate", "--start", start),
                *("--days", str(days), "--scale", str(scale), "--seed", "3", "-q"),
                *("--output", str(path)),
            ],
            check=True,
        )
    return path


def new_judge(forces: list[str]) -> PartitionJudge:
    sources = frozenset({*forces, "watchdog"})
    return PartitionJudge(0, bootstrap.new_engine(), TOPICS, Counts(), sources)


def judge_history(
    judge: PartitionJudge, years: int, scale: float, retire_every: int
) -> Iterator[tuple[bytes, bytes | None]]:
    """Judge the history with `judge`, retiring as housekeeping does; the records written."""
    intake = Intake(event_adapter(), TOPICS, WatchdogIds(TOPICS.watchdog_ids), Counts())
    after_days = WorkerSettings.model_fields["retire_after_days"].default
    margin = (WorkerSettings.window_days + after_days) * MICROS_PER_DAY
    offsets: defaultdict[str, int] = defaultdict(int)
    judged = 0
    started = time.process_time()
    with history(years, scale).open("rb") as lines:
        for line in lines:
            head = json.loads(line)
            source = expected_source(head["event_type"], head["force"])
            offset = offsets[source]
            offsets[source] += 1
            sends = intake.take(TOPICS.input(source), 0, offset, RECEIVED_MS, line.rstrip())
            forwards = [s for s in sends if s.topic == TOPICS.by_force]
            for forward in forwards:
                for record in judge.judge([decode_delivery(forward.value or b"")]).state:
                    yield record.key or b"", record.value
                judged += 1
                if judged % retire_every == 0:
                    folded, deletions = judge.retire(margin)
                    for record in (*folded, *deletions):
                        yield record.key or b"", record.value
    print(
        f"  judged {years}y: {judged} deliveries in {time.process_time() - started:.1f} s CPU",
        file=sys.stderr,
    )


def changelog(years: int, scale: float, retire_every: int) -> Changelog:
    """The compacted changelog one judge writes judging the history, retiring as it goes."""
    # The archive format in the name: a changelog cached by a release before is not
    # what this one writes.
    name = f"restore-changelog-{years}y-x{scale:g}-every{retire_every}-archive{ARCHIVE_VERSION}"
    path = CACHE / f"{name}.pickle"
    if path.exists():
        with path.open("rb") as f:
            cached: Changelog = pickle.load(f)
        return cached
    forces = [f.code for f in load_forces()]
    records = dict(judge_history(new_judge(forces), years, scale, retire_every))
    kept = {k: v for k, v in records.items() if v is not None}
    with path.open("wb") as f:
        pickle.dump(kept, f)
    return kept


class Lived(NamedTuple):
    mb: float
    first_s: float
    again_s: float
    read_s: float
    settle_s: float


def lived(years: int, scale: float, retire_every: int, forces: list[str]) -> Lived:
    """The snapshot of a judge that judged the history itself (a running worker's, holding
    its retired cases read, where a restored judge holds archive records unread): written
    once, written again with the parts of retired cases it kept (snapshot_pickle.Parts),
    read back, and the retired cases then read as a worker does between batches."""
    judge = new_judge(forces)
    for _ in judge_history(judge, years, scale, retire_every):
        pass
    state = judge.state()
    assert state is not None
    parts = snapshot_pickle.Parts()
    w0 = time.perf_counter()
    snapshot_pickle.dumps(state, parts)
    w1 = time.perf_counter()
    body = snapshot_pickle.dumps(state, parts)
    w2 = time.perf_counter()
    resumed = snapshot_pickle.loads(body, judge.engine.ruleset)
    w3 = time.perf_counter()
    assert isinstance(resumed, JudgeState)
    resumed.engine.settle_all()
    w4 = time.perf_counter()
    return Lived(len(body) / 1e6, w1 - w0, w2 - w1, w3 - w2, w4 - w3)


def restore(records: Changelog, forces: list[str]) -> tuple[Held, PartitionJudge]:
    stored = held(records)
    judge = new_judge(forces)
    for _ in judge.restore(stored):
        pass
    return stored, judge


class Measured(NamedTuple):
    cpu: float
    wall: float
    later: float
    stored: Held
    snapshot_mb: float
    dump_s: float
    load_s: float


def measure(records: Changelog, forces: list[str], repeat: int) -> Measured:
    """Best of `repeat`: the restore's CPU and wall time, then the CPU time of reading the
    archive records' cases, which a worker does after it serves (retired_store.py); and
    side by side, the restored judge's snapshot (streams/worker/snapshot.py): its size,
    the time to write it (judging waits meanwhile) and to read it back."""
    cpu = wall = later = dump = load = float("inf")
    stored: Held | None = None
    body = b""
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        stored, judge = restore(records, forces)
        c1 = time.process_time()
        cpu = min(cpu, c1 - c0)
        wall = min(wall, time.perf_counter() - w0)
        state = judge.state()
        assert state is not None
        w1 = time.perf_counter()
        body = snapshot_pickle.dumps(state)
        w2 = time.perf_counter()
        resumed = snapshot_pickle.loads(body, judge.engine.ruleset)
        load = min(load, time.perf_counter() - w2)
        dump = min(dump, w2 - w1)
        del resumed
        c3 = time.process_time()
        judge.engine.settle_all()
        later = min(later, time.process_time() - c3)
    assert stored is not None
    return Measured(cpu, wall, later, stored, len(body) / 1e6, dump, load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default="1,5")
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--retire-every", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--lived", action="store_true", help="also the snapshot of the judge that judged it"
    )
    args = parser.parse_args()
    collector.pace()  # as in a worker's process (refmon/collector.py)
    years = [int(y) for y in args.years.split(",")]
    forces = [f.code for f in load_forces()]
    logs = {y: changelog(y, args.scale, args.retire_every) for y in years}
    rows = []
    for y in years:
        m = measure(logs[y], forces, args.repeat)
        size = sum(len(v) for v in logs[y].values())
        retired = m.stored.retired_count()
        live = len(m.stored.deliveries)
        rows.append((y, len(logs[y]), size, live, retired, m.cpu, m.wall, m.later, m))
    print(f"restore of one partition holding every force, x{args.scale:g} national volume")
    print(
        f"{'years':>5} {'records':>8} {'MB':>6} {'live deliveries':>15} "
        f"{'retired cases':>13} {'CPU s':>7} {'wall s':>7} {'CPU ratio':>9} "
        f"{'then archive CPU s':>18}"
    )
    base = rows[0][5]
    for y, n, size, live, retired, cpu, wall, later, _ in rows:
        print(
            f"{y:>5} {n:>8} {size / 1e6:>6.1f} {live:>15} {retired:>13} "
            f"{cpu:>7.2f} {wall:>7.2f} {cpu / base:>9.2f} {later:>18.2f}"
        )
    print("the same judge's snapshot, side by side with the replay above (wall s)")
    print(f"{'years':>5} {'MB':>6} {'write s':>8} {'read s':>8} {'replay s':>9}")
    for y, *_, wall, _later, m in rows:
        print(f"{y:>5} {m.snapshot_mb:>6.1f} {m.dump_s:>8.2f} {m.load_s:>8.2f} {wall:>9.2f}")
    if args.lived:
        print("the snapshot of a judge that judged the history itself (wall s)")
        print(
            f"{'years':>5} {'MB':>6} {'write s':>8} {'again s':>8} {'read s':>8} "
            f"{'then archive s':>14}"
        )
        for y in years:
            w = lived(y, args.scale, args.retire_every, forces)
            print(
                f"{y:>5} {w.mb:>6.1f} {w.first_s:>8.2f} {w.again_s:>8.2f} {w.read_s:>8.2f} "
                f"{w.settle_s:>14.2f}"
            )
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        restore(logs[years[-1]], forces)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
