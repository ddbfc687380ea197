"""Housekeeping (housekeeping.py) waits while a partition is restored: retiring and the
statistics share the event loop with the restore, and run once it is done."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker import housekeeping as housekeeping_module
from refmon.streams.worker.housekeeping import Housekeeping
from refmon.streams.worker.settings import WorkerSettings

TP = TopicPartition("t-by-force", 0)


class StoppedError(Exception):
    """Ends the run once the statistics have run."""


Calls = list[tuple[str, bool]]
"""What housekeeping did, in order, and whether a partition was restoring then."""


def run_until_statistics(clear_after: float | None) -> tuple[Calls, Calls, float]:
    """Housekeeping ticking every 10 ms with one partition restoring: what it did in its
    first 0.1 s, and everything up to its first statistics (the restore ended after
    `clear_after` s; None: never), and the seconds from its start to its first call."""

    async def scenario() -> tuple[Calls, Calls, float]:
        started = time.monotonic()
        at: list[float] = []
        restore = asyncio.get_running_loop().create_future()
        loop = SimpleNamespace(restoring={TP: restore})
        judging = SimpleNamespace(judges={}, state_lock=asyncio.Lock())

        async def take_snapshots() -> None:
            calls.append(("snapshots", bool(loop.restoring)))

        judging.take_snapshots = take_snapshots
        config = WorkerSettings(
            kafka=KafkaSettings("127.0.0.1:9"),
            clock="event",
            tick_seconds=0.01,
            retire_seconds=0.01,
        )
        housekeeping = Housekeeping(
            config, cast(Any, judging), (cast(Any, loop),), cast(Any, None),
            cast(Any, None), cast(Any, None), None, lambda: 0,
        )  # fmt: skip
        calls: Calls = []

        async def retire(_send: object) -> None:
            calls.append(("retire", bool(loop.restoring)))
            at.append(time.monotonic() - started)

        async def publish_counts(_send: object) -> dict[str, int]:
            calls.append(("statistics", bool(loop.restoring)))
            raise StoppedError

        housekeeping._retire = retire  # type: ignore[method-assign]
        housekeeping._publish_counts = publish_counts  # type: ignore[method-assign]

        async def send(*_args: object) -> None:
            pass

        run = asyncio.create_task(housekeeping.run(send))
        await asyncio.sleep(0.1)  # ten ticks while the partition is restored
        first = list(calls)
        if clear_after is not None:
            await asyncio.sleep(clear_after - 0.1)
            loop.restoring.clear()
        with contextlib.suppress(StoppedError):
            await asyncio.wait_for(run, 5)
        return first, calls, at[0]

    return asyncio.run(scenario())


def test_retiring_and_statistics_wait_until_no_partition_is_restored() -> None:
    first, calls, _ = run_until_statistics(clear_after=0.1)
    assert first == []
    assert calls == [("retire", False), ("snapshots", False), ("statistics", False)]


def test_a_restore_that_never_ends_holds_them_back_for_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(housekeeping_module, "RESTORE_WAIT_SECONDS", 0.3)
    _, calls, waited = run_until_statistics(clear_after=None)
    assert waited >= 0.3
    assert calls == [("retire", True), ("snapshots", True), ("statistics", True)]


def test_a_judge_dropped_while_retiring_waits_for_the_lock_writes_nothing() -> None:
    """A rebalance holds the state lock while it drops a judge: after it, the dropped judge
    must not retire through the partition's lane (a successor's snapshot would count its
    deletions as its own)."""

    async def scenario() -> tuple[list[str], list[object]]:
        retired: list[str] = []
        sent: list[object] = []

        def judge(name: str) -> SimpleNamespace:
            def retire(_margin: int) -> tuple[list[str], list[str]]:
                retired.append(name)
                return ["archive"], ["deletion"]

            return SimpleNamespace(partition=0, retire=retire, last_retired=1)

        dropped, successor = judge("dropped"), judge("successor")
        judging = SimpleNamespace(judges={0: dropped}, state_lock=asyncio.Lock())
        judging.holds = lambda j: judging.judges.get(j.partition) is j
        config = WorkerSettings(kafka=KafkaSettings("127.0.0.1:9"), clock="event")
        housekeeping = Housekeeping(
            config, cast(Any, judging), (), cast(Any, None),
            cast(Any, None), cast(Any, None), None, lambda: 0,
        )  # fmt: skip

        async def send(*args: object) -> None:
            sent.append(args)

        async with judging.state_lock:  # the rebalance
            retiring = asyncio.create_task(housekeeping._retire(send))
            await asyncio.sleep(0.01)
            judging.judges[0] = successor
        await retiring
        return retired, sent

    retired, sent = asyncio.run(scenario())
    assert retired == []
    assert sent == []
