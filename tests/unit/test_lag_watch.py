"""The lag and stall watch over the worker's loops (lag_watch.py): a stalled partition is
sought to its position and resumed; one still stalled after that asks for new consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import TopicPartition
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker.lag_watch import LagWatch
from refmon.streams.worker.loop import ConsumerLoop
from refmon.streams.worker.stalls import StallWatch

TP = TopicPartition("t-by-force", 0)


class Consumer:
    """What the watch asks of a consumer, with one partition stuck behind its end."""

    def __init__(self, ends: dict[TopicPartition, int]) -> None:
        self.ends = ends
        self.sought: list[tuple[TopicPartition, int]] = []
        self.resumed: list[TopicPartition] = []

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    async def end_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.ends[tp] for tp in tps}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought.append((tp, offset))

    def resume(self, tp: TopicPartition) -> None:
        self.resumed.append(tp)


def test_a_stall_is_resumed_at_its_position_then_asks_for_new_consumers() -> None:
    now = [0.0]
    stuck = ConsumerLoop(KafkaSettings("broker:9093"), 30, None)
    stuck.stalls = StallWatch(30, lambda: now[0])
    consumer = Consumer({TP: 100})
    stuck.consumer = consumer  # type: ignore[assignment]
    stuck.gaps.seen(TP, 39)  # processed up to offset 39: 60 behind
    idle = ConsumerLoop(KafkaSettings("broker:9093"), 30, None)  # no consumer yet
    watch = LagWatch((stuck, idle))

    def check_at(t: float) -> tuple[dict[TopicPartition, int], set[TopicPartition], bool]:
        now[0] = t
        watched = asyncio.run(watch.check())
        return watched.lags, watched.stalled, watched.restart

    assert check_at(0) == ({TP: 60}, set(), False)
    assert (consumer.sought, consumer.resumed) == ([], [])
    assert check_at(30) == ({TP: 60}, {TP}, False)
    assert (consumer.sought, consumer.resumed) == ([(TP, 40)], [TP])
    assert check_at(60) == ({TP: 60}, {TP}, True)
    assert consumer.resumed == [TP]  # resumed once, not at every check
    watch.restarting()
    assert (stuck.stalls.restart_needed, stuck.stalls.stalled()) == (False, set())
