"""Housekeeping (housekeeping.py) waits while a partition is restored: retiring and the
statistics share the event loop with the restore, and run once it is done."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any, cast

from aiokafka import TopicPartition
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker.housekeeping import Housekeeping
from refmon.streams.worker.settings import WorkerSettings

TP = TopicPartition("t-by-force", 0)


class StoppedError(Exception):
    """Ends the run once the statistics have run."""


def test_retiring_and_statistics_wait_until_no_partition_is_restored() -> None:
    async def scenario() -> list[tuple[str, bool]]:
        restore = asyncio.get_running_loop().create_future()
        loop = SimpleNamespace(restoring={TP: restore})
        judging = SimpleNamespace(judges={}, state_lock=asyncio.Lock())
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
        calls: list[tuple[str, bool]] = []

        async def retire(_send: object) -> None:
            calls.append(("retire", bool(loop.restoring)))

        async def publish_counts(_send: object) -> dict[str, int]:
            calls.append(("statistics", bool(loop.restoring)))
            raise StoppedError

        housekeeping._retire = retire  # type: ignore[method-assign]
        housekeeping._publish_counts = publish_counts  # type: ignore[method-assign]

        async def send(*_args: object) -> None:
            pass

        run = asyncio.create_task(housekeeping.run(send))
        await asyncio.sleep(0.1)  # ten ticks while the partition is restored
        waited = list(calls)
        loop.restoring.clear()
        with contextlib.suppress(StoppedError):
            await asyncio.wait_for(run, 5)
        assert waited == []
        return calls

    assert asyncio.run(scenario()) == [("retire", False), ("statistics", False)]
