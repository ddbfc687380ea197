"""Run `refmon` with the worker's case-changelog writes made slow, as on a loaded machine.

Each write to the case changelog waits SLOW_SEND_SECONDS before it joins the
producer's queue, so at any moment many are in flight: a kill then shows
whether the worker commits offsets before the writes they depend on are on
the broker. Only the producer is slowed; Kafka and refmon are real.

    python -m tests.kafka.slow_sends worker --bootstrap-server ...
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

SLOW_SEND_SECONDS = float(os.environ.get("REFMON_TEST_SLOW_SEND_SECONDS", "0.02"))


def slow_down_changelog_writes() -> None:
    from aiokafka import AIOKafkaProducer

    send = AIOKafkaProducer.send

    async def slow_send(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
        if topic.endswith("-cases-changelog"):
            await asyncio.sleep(SLOW_SEND_SECONDS)
        return await send(self, topic, *args, **kwargs)

    AIOKafkaProducer.send = slow_send  # type: ignore[method-assign]


if __name__ == "__main__":
    slow_down_changelog_writes()
    from refmon.cli import main

    sys.exit(main(sys.argv[1:]))
