"""A Faust table whose changelog writes can be awaited until the broker has them.

The worker acknowledges an event only once the table write it made is durable;
otherwise the committed offset can outrun the changelog, and whoever takes the
partition over recovers a case without that event and never sees it again.
Faust's own `producer.flush()` cannot promise that: its buffer's flush gives
up after 0.1 s without a completed send (`ProducerBuffer.flush_atmost`), which
on a loaded machine leaves table writes queued. So every changelog write's
future is kept here, and awaited.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust


class DurableTable(faust.Table[str, Any]):
    """Selected with Faust's `Table` setting, so `app.Table(...)` builds one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unconfirmed: list[Any] = []

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        future = super().send_changelog(*args, **kwargs)
        self._unconfirmed.append(future)
        return future

    async def confirmed(self) -> None:
        """Wait until every write so far is on the broker; raise if one failed."""
        futures, self._unconfirmed = self._unconfirmed, []
        if futures:
            await asyncio.gather(*futures)
