"""Checkpointing without a broker: each input partition's lane writes in submission order;
exactly once, a submission is one transaction with its offset; at least once, outputs, then
state, confirmed, then the offset."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, ProducerFenced
from refmon.streams.worker.checkpoint import Batch, Checkpoint
from refmon.streams.worker.lanes import ConfirmedLane, Lane, TransactionalLane
from refmon.streams.worker.messages import Outbound
from refmon.streams.worker.sends import Landed

TP = TopicPartition("t.by-force", 0)


class FakeProducer:
    """Records each send, when its delivery is confirmed, and each transaction step."""

    def __init__(self, journal: list[str], fenced_at: int | None = None) -> None:
        self.journal = journal
        self.fenced_at = fenced_at
        self.commits = 0
        self.offsets: dict[tuple[str, int], int] = {}

    async def send(
        self, topic: str, value: bytes | None, partition: int | None = None, **_: Any
    ) -> asyncio.Future[Any]:
        self.journal.append(f"send {topic}")
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        where = (topic, partition or 0)
        offset = self.offsets[where] = self.offsets.get(where, -1) + 1
        landed = SimpleNamespace(topic=topic, partition=partition or 0, offset=offset)
        asyncio.get_running_loop().call_soon(self._confirm, done, topic, landed)
        return done

    def _confirm(self, done: asyncio.Future[Any], topic: str, landed: Any) -> None:
        self.journal.append(f"confirmed {topic}")
        done.set_result(landed)

    async def start(self) -> None:
        self.journal.append("start")

    async def stop(self) -> None:
        self.journal.append("stop")

    async def begin_transaction(self) -> None:
        self.journal.append("begin")

    async def send_offsets_to_transaction(self, offsets: Mapping[Any, int], group: str) -> None:
        self.journal.append(f"offsets {dict(offsets)[TP]} {group}")

    async def commit_transaction(self) -> None:
        self.commits += 1
        if self.commits == self.fenced_at:
            raise ProducerFenced()
        self.journal.append("commit")

    async def abort_transaction(self) -> None:
        self.journal.append("abort")


class FakeConsumer:
    def __init__(self, journal: list[str], refuse: bool = False) -> None:
        self.journal = journal
        self.refuse = refuse

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.refuse:
            raise CommitFailedError("rebalanced")
        self.journal.append(f"commit {dict(offsets)[TP]}")


def batch() -> Batch:
    state = [
        Outbound("changelog", b"k", b"v", 0),
        # Neither a deletion nor a rewritten record is a place a snapshot can name.
        Outbound("changelog", b"gone", None, 0),
        Outbound("changelog", b"#retired/0/0", b"v", 0),
    ]
    return Batch([Outbound("findings", b"k", b"v")], state)


def through(lane: Lane, offsets: list[int | None]) -> None:
    """Submit a batch per offset at once (as the loop does), then wait for them all."""

    async def run() -> None:
        checkpoint = Checkpoint("judge", lambda tp: _ready(lane))
        await checkpoint.assigned({TP})
        tasks = []
        for offset in offsets:
            if offset is None:
                tasks.append(checkpoint.lanes[TP].submit(batch().outputs, [], None))
            else:
                task = checkpoint.submit(TP, batch(), offset)
                assert task is not None
                tasks.append(task)
        await asyncio.gather(*tasks)
        await checkpoint.close()

    asyncio.run(run())


async def _ready(lane: Lane) -> Lane:
    return lane


def test_at_least_once_outputs_then_state_are_confirmed_before_each_offset_in_order() -> None:
    journal: list[str] = []
    committed: list[Mapping[Any, int]] = []
    producer, consumer = FakeProducer(journal), FakeConsumer(journal)
    lane = ConfirmedLane(TP, "judge", producer, consumer, committed.append)  # type: ignore[arg-type]
    through(lane, [10, 20])
    one = [
        *("send findings", "confirmed findings"),
        *("send changelog", "send changelog", "send changelog"),
        *("confirmed changelog", "confirmed changelog", "confirmed changelog"),
    ]
    assert journal == [*one, "commit 10", *one, "commit 20"]
    assert [dict(c)[TP] for c in committed] == [10, 20]
    # Unfenced, a former owner may still write: a snapshot vouches for the named record
    # only, and a restore reads everything after it.
    assert lane.written[TopicPartition("changelog", 0)] == Landed(3, b"k", 3)


def test_a_commit_refused_after_a_rebalance_is_not_counted_as_progress() -> None:
    journal: list[str] = []
    committed: list[Mapping[Any, int]] = []
    consumer = FakeConsumer(journal, refuse=True)
    lane = ConfirmedLane(TP, "judge", FakeProducer(journal), consumer, committed.append)  # type: ignore[arg-type]
    through(lane, [10])
    assert committed == []


def test_exactly_once_each_submission_is_one_transaction_with_its_offset_in_order() -> None:
    journal: list[str] = []
    committed: list[Mapping[Any, int]] = []
    producer = FakeProducer(journal)
    lane = TransactionalLane(TP, producer, "refmon", committed.append)  # type: ignore[arg-type]
    through(lane, [10, None, 20])
    sends = [
        *("send findings", "send changelog", "send changelog", "send changelog"),
        *("confirmed findings", "confirmed changelog", "confirmed changelog"),
        "confirmed changelog",
    ]
    assert journal == [
        *["begin", *sends, "offsets 10 refmon", "commit"],
        *["begin", "send findings", "confirmed findings", "commit"],
        *["begin", *sends, "offsets 20 refmon", "commit"],
        "stop",
    ]
    assert [dict(c)[TP] for c in committed] == [10, 20]
    # What a snapshot names (the last record landed that stays) and reflects (every one
    # landed), in each partition written to.
    changelog, findings = TopicPartition("changelog", 0), TopicPartition("findings", 0)
    assert lane.written == {changelog: Landed(3, b"k", 5), findings: Landed(2, b"k", 2)}
    # Deletions alone (a retirement): the record named stays, what is reflected moves on.
    lane.landed({changelog: (None, 9)})
    assert lane.written[changelog] == Landed(3, b"k", 9)
    lane.landed({TopicPartition("changelog", 1): (None, 4)})
    assert TopicPartition("changelog", 1) not in lane.written  # nothing it could name
    assert lane.idle()


def test_a_fenced_transaction_is_aborted_fails_what_follows_and_commits_nothing() -> None:
    journal: list[str] = []
    committed: list[Mapping[Any, int]] = []
    producer = FakeProducer(journal, fenced_at=1)
    lane = TransactionalLane(TP, producer, "refmon", committed.append)  # type: ignore[arg-type]
    with pytest.raises(ProducerFenced):
        through(lane, [10, 20])
    assert "abort" in journal
    assert journal.count("begin") == 1  # the next submission never starts
    assert committed == []
    assert lane.written == {}  # nothing landed: a snapshot names nothing of it
    assert not lane.idle()


def test_a_lane_restored_from_the_whole_changelog_starts_where_the_restore_read_to() -> None:
    """A quiet partition then has a snapshot to take, and one whose lane lands only a
    retirement's deletions still names a record."""
    changelog = TopicPartition("changelog", 0)
    fenced = TransactionalLane(TP, FakeProducer([]), "refmon", lambda _: None)  # type: ignore[arg-type]
    fenced.restored(changelog, Landed(7, b"k", 8))
    assert fenced.written[changelog] == Landed(7, b"k", 8)
    fenced.landed({changelog: (None, 12)})
    assert fenced.written[changelog] == Landed(7, b"k", 12)
    fenced.restored(changelog, None)  # read again: nothing it could name
    assert changelog not in fenced.written  # not the mark of the state before

    unfenced = ConfirmedLane(TP, "judge", FakeProducer([]), None, lambda _: None)  # type: ignore[arg-type]
    unfenced.restored(changelog, Landed(7, b"k", 8))
    assert unfenced.written[changelog] == Landed(7, b"k", 7)  # the named record alone
