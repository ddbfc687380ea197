"""The asyncio side of the worker's health (health.py): what it sees, recorded every PROBE_S.

Every `PROBE_S` it asks a broker for the cluster's metadata through the judging
consumer (a real round trip, never a cache) and notes which partitions are
restoring and which are stalled (stalls.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from refmon.streams.worker.cancelling import end_if_cancelled
from refmon.streams.worker.health import PROBE_S, HealthState
from refmon.streams.worker.loop import ConsumerLoop

__all__ = ["HealthProbe"]


def _named(partitions: Iterable[TopicPartition]) -> list[str]:
    return [f"{tp.topic}[{tp.partition}]" for tp in partitions]


class HealthProbe:
    """Feeds a HealthState from the running worker, across its sessions."""

    def __init__(
        self, state: HealthState, loops: tuple[ConsumerLoop, ...], contact: ConsumerLoop
    ) -> None:
        self.state = state
        self._loops = loops
        self._contact = contact

    async def run(self) -> None:
        """Until cancelled; never raises otherwise (a failed probe is a missed contact)."""
        while True:
            end_if_cancelled()
            self.state.beat()
            if await self._ask_broker():
                self.state.contacted()
            restoring = [tp for loop in self._loops for tp in loop.restoring]
            stalled = [tp for loop in self._loops for tp in loop.stalls.stalled()]
            self.state.partitions(_named(restoring), _named(stalled))
            await asyncio.sleep(PROBE_S)

    async def _ask_broker(self) -> bool:
        consumer = self._contact.consumer
        if consumer is None:
            return False  # between sessions: no client to ask with
        with contextlib.suppress(KafkaError, OSError, TimeoutError, AssertionError):
            # A metadata request to a broker, answered or failed; never from a cache.
            await asyncio.wait_for(consumer.topics(), timeout=PROBE_S)
            return True
        return False
