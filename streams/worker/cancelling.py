"""Cancelling the worker's tasks so that they end, even through aiokafka.

aiokafka swallows a cancellation that lands while it is closing a client: its
fetcher and client `close()` await their own background task inside
`contextlib.suppress(asyncio.CancelledError)`, which also suppresses the
cancellation of the task that called `close()`. A task cancelled there (the
housekeeping task reading the findings topic, a restore reading a changelog,
as their reader stops its consumer) carries on as if nothing had happened, and
whoever waits for it waits for ever: a worker that got SIGTERM in that moment
did not stop. So each long-running loop ends itself, going round, if a
cancellation was lost (`end_if_cancelled`); a restore checks before it keeps
what it read; and whoever ends tasks cancels them again until they end, within
a bound (`cancel_and_wait`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("refmon.worker")

AGAIN_SECONDS = 1.0
"""Long enough for a lane's abort to finish before its task is cancelled again."""


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], seconds: float = 4.0) -> None:
    """Cancel the tasks, and again every AGAIN_SECONDS while any still runs, for at most
    `seconds`; their results and exceptions are dropped (the caller is ending them)."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    deadline = time.monotonic() + seconds
    while pending and time.monotonic() < deadline:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=AGAIN_SECONDS)
    for task in pending:
        log.error("task %s did not end when cancelled; left behind", task.get_name())
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: not reported as never retrieved


def cancelled_meanwhile() -> bool:
    """Whether the current task was asked to cancel and the request was swallowed."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def end_if_cancelled() -> None:
    """At the top of a task's loop: end it if a cancellation was swallowed on the way round.
    (Cancelling again alone is not enough: a loop can be, at every new request, back in
    the same close that swallows it.)"""
    if cancelled_meanwhile():
        raise asyncio.CancelledError
