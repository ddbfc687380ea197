"""When a worker takes its by-force judges' snapshots, and how a restore resumes from one.

Taking one (housekeeping, every `snapshot_seconds` for a partition whose lane
has written to the changelog since, or whose judge was restored from the whole
changelog: the lane then starts where the restore read to): under the judging loop's state lock, the
partition's lane is drained, and only if nothing is left in it is the judge
pickled, at once, with no await in between. Then the judge holds exactly what
the lane has landed: the snapshot reflects every changelog record up to the
last the lane landed (`through`: after a retirement, its deletions), and names
the last delivery the lane landed, which compaction keeps while its case is
live (a deletion or an archive record compaction removes or rewrites). The
file is written off the event loop.

Resuming (a restore): the snapshot read, the record it names checked (same
offset, same key: the topic is the one the snapshot was taken from), and only
the records after `through` read and applied (tail.py). Anything amiss and the
partition is restored from the whole changelog, as without a snapshot; the file
is set aside.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

from aiokafka import TopicPartition
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics
from refmon.streams.worker import reader, snapshot, snapshot_pickle, tail
from refmon.streams.worker.judge import PartitionJudge
from refmon.streams.worker.lanes import Lane
from refmon.streams.worker.sends import Landed

log = logging.getLogger("refmon.worker")


class Snapshots:
    def __init__(self, folder: Path, kafka: KafkaSettings, topics: Topics, seconds: float) -> None:
        self._folder = folder
        self._kafka = kafka
        self._topic = topics.cases_changelog
        self._seconds = seconds
        self._taken: dict[int, Landed] = {}
        self._at: dict[int, float] = {}
        self._parts: dict[int, snapshot_pickle.Parts] = {}

    def _path(self, partition: int) -> Path:
        return snapshot.path_of(self._folder, self._topic, partition)

    async def resume(self, judge: PartitionJudge) -> int | None:
        """Bring a new judge up from its partition's snapshot and the changelog after it;
        records read. None: no snapshot fit to use (the judge is then not to be used)."""
        partition = judge.partition
        path = self._path(partition)
        print_ = snapshot.fingerprint(judge, self._topic)
        # Off the event loop: reading a large partition's snapshot takes a few tenths of a
        # second, which the group joins and the other restores' reads can use meanwhile.
        loaded = await asyncio.to_thread(snapshot.load, path, print_, judge.engine.ruleset)
        if loaded is None:
            return None
        at, records = await reader.read_at_and_after(
            self._kafka, self._topic, partition, loaded.offset, loaded.through + 1
        )
        if at is None:
            why = "the changelog no longer holds the record it names"
        elif snapshot.key_hash(at[1]) != loaded.key_hash:
            why = "the changelog holds another record where it names one"
        else:
            judge.resume(loaded.state)
            try:
                caught = tail.catch_up(judge, ((key, value) for _, key, value in records))
            except Exception as err:
                why = f"{type(err).__name__}: {err}"
            else:
                self._at[partition] = time.monotonic()
                log.info(
                    "partition %d resumed from its snapshot (changelog offset %d) and the %d "
                    "record(s) after it, which retired %d case(s)",
                    partition,
                    loaded.through,
                    caught.records,
                    caught.retired,
                )
                return len(records)
        log.warning("snapshot %s not used (%s): restoring from the changelog", path, why)
        snapshot.set_aside(path)
        return None

    def forget(self, partition: int) -> None:
        """A partition's judge dropped: the retired cases its snapshots kept pickled go too."""
        self._parts.pop(partition, None)
        self._taken.pop(partition, None)  # a restore reading to the same mark writes anew

    async def take(
        self,
        judge: PartitionJudge,
        lane: Lane,
        lock: asyncio.Lock,
        holds: Callable[[PartitionJudge], bool],
    ) -> bool:
        """Write the judge's snapshot if one is due, and `holds(judge)` still once the lock
        is ours (a rebalance may drop it meanwhile); whether one was written."""
        partition = judge.partition
        changelog = TopicPartition(self._topic, partition)
        mark = lane.written.get(changelog)
        if mark is None or mark == self._taken.get(partition):
            return False  # nothing landed since the last one (or since the restore)
        if time.monotonic() - self._at.get(partition, -math.inf) < self._seconds:
            return False
        started = time.monotonic()
        async with lock:
            await lane.drain()
            mark = lane.written.get(changelog)
            state = judge.state()
            if mark is None or state is None or not lane.idle() or not holds(judge):
                return False  # still writing, or failing: the next round tries again
            body = snapshot_pickle.dumps(
                state, self._parts.setdefault(partition, snapshot_pickle.Parts())
            )
        held = time.monotonic() - started
        print_ = snapshot.fingerprint(judge, self._topic)
        self._at[partition] = time.monotonic()
        try:
            await asyncio.to_thread(snapshot.save, self._path(partition), print_, *mark, body)
        except OSError as err:  # a full or read-only disk costs restart time, nothing more
            log.warning("snapshot of partition %d not written: %s", partition, err)
            return False
        self._taken[partition] = mark
        log.info(
            "snapshot of partition %d at changelog offset %d: %.1f MB, judging held %.2f s",
            partition,
            mark.through,
            len(body) / 1e6,
            held,
        )
        return True
