"""Cancelling the worker's tasks (cancelling.py): a task whose cancellation a library
swallows, as aiokafka's `close()` does, is cancelled again until it ends."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from refmon.streams.worker.cancelling import (
    AGAIN_SECONDS,
    cancel_and_wait,
    cancelled_meanwhile,
    end_if_cancelled,
)


async def closing_like_aiokafka() -> None:
    """aiokafka's fetcher and client close(): their own task awaited inside
    suppress(CancelledError), which swallows the caller's cancellation too."""
    background = asyncio.create_task(asyncio.sleep(0.05))
    with contextlib.suppress(asyncio.CancelledError):
        await background


async def housekeeping(rounds: list[int], lost: list[bool]) -> None:
    """Reads, closes its reader, and goes round again, as the worker's housekeeping does."""
    while True:
        end_if_cancelled()
        await closing_like_aiokafka()
        lost.append(cancelled_meanwhile())
        rounds.append(len(rounds))
        await asyncio.sleep(0.01)


def test_a_loop_whose_cancellation_was_swallowed_ends_itself_going_round() -> None:
    rounds: list[int] = []
    lost: list[bool] = []

    async def scenario() -> bool:
        task = asyncio.create_task(housekeeping(rounds, lost))
        await asyncio.sleep(0.01)  # inside closing_like_aiokafka
        task.cancel()
        await asyncio.sleep(0.2)
        return task.cancelled()

    assert asyncio.run(scenario())
    assert lost == [True]  # swallowed once, noticed, and the loop went no further round


def test_a_task_whose_cancellation_was_swallowed_is_cancelled_again() -> None:
    async def reads_then_waits() -> None:
        await closing_like_aiokafka()  # swallows the first cancellation
        await asyncio.sleep(3600)

    async def scenario() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(reads_then_waits())
        await asyncio.sleep(0.01)  # inside closing_like_aiokafka
        started = loop.time()
        await cancel_and_wait([task])
        return task.cancelled(), loop.time() - started

    cancelled, took = asyncio.run(scenario())
    assert cancelled
    assert took >= AGAIN_SECONDS  # the first cancellation was lost: ended by the second


def test_a_task_that_never_ends_is_left_behind_after_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    give_up = asyncio.Event()

    async def stubborn() -> None:
        while not give_up.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.05)

    async def scenario() -> bool:
        task = asyncio.create_task(stubborn(), name="stubborn")
        await asyncio.sleep(0)
        await cancel_and_wait([task], seconds=0.5)
        left = not task.done()
        give_up.set()  # so that the test's own event loop can close
        await task
        return left

    assert asyncio.run(scenario()) is True
    assert "task stubborn did not end when cancelled" in caplog.text


def test_finished_tasks_and_their_failures_are_not_waited_for_or_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("already failed")

    async def scenario() -> None:
        task = asyncio.create_task(fails())
        await asyncio.sleep(0)
        await cancel_and_wait([task])
        assert task.done()
        assert isinstance(task.exception(), RuntimeError)

    asyncio.run(scenario())
