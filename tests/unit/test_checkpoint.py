"""Checkpointing without a broker: outputs, then state, confirmed, then the offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from refmon.streams.worker.checkpoint import Batch, Checkpoint, Sender
from refmon.streams.worker.messages import Outbound

TP = TopicPartition("t.by-force", 0)


class FakeProducer:
    """Records each send, and when its delivery is confirmed."""

    def __init__(self, journal: list[str]) -> None:
        self.journal = journal

    async def send(self, topic: str, value: bytes | None, **_: Any) -> asyncio.Future[None]:
        self.journal.append(f"send {topic}")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(self._confirm, done, topic)
        return done

    def _confirm(self, done: asyncio.Future[None], topic: str) -> None:
        self.journal.append(f"confirmed {topic}")
        done.set_result(None)


class FakeConsumer:
    def __init__(self, journal: list[str], refuse: bool = False) -> None:
        self.journal = journal
        self.refuse = refuse

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.refuse:
            raise CommitFailedError("rebalanced")
        self.journal.append(f"commit {dict(offsets)[TP]}")


def batch(offset: int) -> Batch:
    done = Batch([Outbound("findings", b"k", b"v")], [Outbound("changelog", b"k", b"v", 0)])
    done.offsets[TP] = offset
    return done


def checkpointed(consumer: FakeConsumer, journal: list[str]) -> list[Mapping[Any, int]]:
    committed: list[Mapping[Any, int]] = []

    async def run() -> None:
        checkpoint = Checkpoint(
            "judge",
            Sender(FakeProducer(journal)),  # type: ignore[arg-type]
            consumer,  # type: ignore[arg-type]
            committed.append,
        )
        for offset in (10, 20):
            done = batch(offset)
            await checkpoint.write(done)
            await checkpoint.commit(done.offsets)
        await checkpoint.close()

    asyncio.run(run())
    return committed


def test_outputs_then_state_are_confirmed_before_their_offsets_are_committed_in_order() -> None:
    journal: list[str] = []
    committed = checkpointed(FakeConsumer(journal), journal)
    sends = [entry for entry in journal if not entry.startswith("commit")]
    assert (
        sends
        == ["send findings", "confirmed findings", "send changelog", "confirmed changelog"] * 2
    )
    state_confirmed = [n for n, entry in enumerate(journal) if entry == "confirmed changelog"]
    # Each batch's commit after its own state is confirmed (a commit may overlap the
    # next batch's sends), and the commits in order.
    assert state_confirmed[0] < journal.index("commit 10") < journal.index("commit 20")
    assert state_confirmed[1] < journal.index("commit 20")
    assert [dict(c)[TP] for c in committed] == [10, 20]


def test_a_commit_refused_after_a_rebalance_is_not_counted_as_progress() -> None:
    journal: list[str] = []
    assert checkpointed(FakeConsumer(journal, refuse=True), journal) == []
