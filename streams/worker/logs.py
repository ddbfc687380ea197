"""One line per problem, not hundreds a second while a broker is away (set up by refmon/logs.py)."""

from __future__ import annotations

import logging
import time

QUIET_SECONDS = 30.0


class Repeats(logging.Filter):
    """Lets each message template through once per `seconds`, then says how many it held back.

    aiokafka logs every failed connection attempt, several per 100 ms while a
    broker restarts; the first line says what is wrong, the rest bury the
    worker's own account of what it did about it.
    """

    def __init__(self, seconds: float = QUIET_SECONDS) -> None:
        super().__init__()
        self._seconds = seconds
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("aiokafka", "kafka")):
            return True  # refmon's own lines each say something different
        # The arguments too: "heartbeat failed for group X" and "... group Y" are two facts.
        key = (record.name, f"{record.msg}|{record.args!r}"[:300])
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._seconds:
            self._last[key] = (last[0], last[1] + 1)
            return False
        if last is not None and last[1]:
            record.msg = f"{record.msg} (and {last[1]} more like it in {self._seconds:.0f} s)"
        self._last[key] = (now, 0)
        return True
