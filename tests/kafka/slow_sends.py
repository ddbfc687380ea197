"""Run `refmon` with Faust's producer buffer made slow, as on a loaded machine.

Each message waits SLOW_SEND_SECONDS before leaving the buffer that table
writes go through. That is longer than the 0.1 s after which Faust's buffer
flush gives up, so it shows whether the worker acks events before their case
writes reach the broker. Only Faust is slowed; Kafka and refmon are real.

    python -m tests.kafka.slow_sends worker --bootstrap-server ...
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

SLOW_SEND_SECONDS = 0.15


def slow_down_faust_buffer() -> None:
    from faust.transport.producer import ProducerBuffer

    send_pending = ProducerBuffer._send_pending

    async def slow_send_pending(self: Any, fut: Any) -> None:
        await asyncio.sleep(SLOW_SEND_SECONDS)
        await send_pending(self, fut)

    ProducerBuffer._send_pending = slow_send_pending  # type: ignore[method-assign]


def main() -> int:
    slow_down_faust_buffer()
    from refmon.cli import main as refmon

    return int(refmon(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
