"""Where a newly assigned partition starts (loop.py): the broker answers a transaction's
commit before it writes the commit's markers, so a partition that comes straight back to
the worker that committed on it can read the offset from before that commit. Its kept
lane is opened again first, which waits for the commit to complete, and the offset is
read again; nothing is restored from a half-written commit, nor judged twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.worker.assignment import Rebalancing
from refmon.streams.worker.checkpoint import Batch, Checkpoint
from refmon.streams.worker.lanes import Lane
from refmon.streams.worker.loop import ConsumerLoop
from refmon.streams.worker.messages import Outbound

TP = TopicPartition("t.by-force", 0)
OTHER = TopicPartition("t.by-force", 1)


class Broker:
    """The group's committed offsets as an OffsetFetch without `require_stable` sees them:
    a commit whose markers are not yet written still shows the offset before it."""

    def __init__(self) -> None:
        self.stable: dict[TopicPartition, int] = {}
        self.pending: dict[TopicPartition, int] = {}
        self.fenced: list[TopicPartition] = []

    def commit(self, tp: TopicPartition, offset: int) -> None:
        self.pending[tp] = offset  # answered; markers still to come

    def fence(self, tp: TopicPartition) -> None:
        """A producer starting with the partition's transactional id: the broker finishes
        the id's last transaction before it answers."""
        self.fenced.append(tp)
        if tp in self.pending:
            self.stable[tp] = self.pending.pop(tp)


class Consumer:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.sought: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)

    def assignment(self) -> set[TopicPartition]:
        return {TP, OTHER}

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.broker.stable.get(tp)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought[tp] = offset

    async def beginning_offsets(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: 0 for tp in tps}


class FencingLane(Lane):
    """Opened, and renewed, as a transactional producer is: fencing, which completes the
    id's last transaction. Writes are recorded; a renewal can be held or made to fail."""

    def __init__(self, tp: TopicPartition, broker: Broker) -> None:
        super().__init__(tp)
        self.broker = broker
        self.written: list[list[Outbound]] = []
        self.hold: asyncio.Event | None = None
        self.fails = False

    async def write(
        self, outputs: list[Outbound], state: list[Outbound], offset: int | None
    ) -> None:
        self.written.append(outputs)

    async def renew(self) -> None:
        if self.hold is not None:
            await self.hold.wait()
        if self.fails:
            raise KafkaConnectionError("the coordinator went away")
        self.broker.fence(self.tp)


class Stateful(ConsumerLoop):
    """A loop that keeps a partition's state while it stays here and nobody else moved it,
    as the judging loop does; restores are recorded, not run."""

    def __init__(self) -> None:
        super().__init__(KafkaSettings("broker:9093"), 30, None)
        self.held: set[TopicPartition] = set()
        self.restored: list[tuple[TopicPartition, int | None]] = []

    def restores(self, tp: TopicPartition, committed: int | None) -> bool:
        return tp not in self.held or committed != self.committed.get(tp)

    def assigned(
        self, tps: set[TopicPartition], committed: Mapping[TopicPartition, int | None]
    ) -> None:
        for tp in tps:
            if self.restores(tp, committed[tp]):
                self.restored.append((tp, committed[tp]))
                self.held.add(tp)


def session() -> tuple[Broker, Consumer, Stateful]:
    broker = Broker()

    async def open_lane(tp: TopicPartition) -> Lane:
        broker.fence(tp)
        return FencingLane(tp, broker)

    consumer = Consumer(broker)
    loop = Stateful()
    loop.attach(consumer, Checkpoint("test", open_lane))  # type: ignore[arg-type]
    return broker, consumer, loop


def test_a_partition_back_after_its_own_commit_waits_for_that_commit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="refmon.worker")
    broker, consumer, loop = session()
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP}))
    assert loop.restored == [(TP, None)]  # new here: restored once
    broker.commit(TP, 40)
    loop.on_committed({TP: 40})
    asyncio.run(
        Rebalancing(loop).on_partitions_assigned({TP})
    )  # a rebalance gives it straight back
    # The kept lane was settled (a new producer, completing the commit), and the offset read after
    # that is our own: the state is kept and the records after offset 40 come next.
    assert broker.fenced == [TP, TP]
    assert loop.restored == [(TP, None)]
    assert consumer.sought == {TP: 40}
    assert loop.gaps.missing(TP, 40) is None
    assert "committed offset read as None, then 40 once its lane settled" in caplog.text


def test_a_partition_back_with_a_settled_offset_keeps_its_lane() -> None:
    broker, consumer, loop = session()
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP}))
    broker.commit(TP, 40)
    broker.fence(TP)  # the markers are written before the rebalance this time
    broker.fenced.clear()
    loop.on_committed({TP: 40})
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP, OTHER}))
    assert broker.fenced == [OTHER]  # TP's producer kept; OTHER's lane is new
    assert loop.restored == [(TP, None), (OTHER, None)]
    assert consumer.sought == {TP: 40}


def test_a_kept_partition_another_worker_moved_is_restored_after_its_lane_settles() -> None:
    broker, consumer, loop = session()
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP}))
    loop.on_committed({TP: 40})
    broker.stable[TP] = 75  # another worker had it meanwhile (our session lapsed) ...
    broker.commit(TP, 90)  # ... and its last commit is still completing
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP}))
    # Restored from the offset after its last commit, never from 40 or 75: the records
    # before are judged once, by whoever committed them.
    assert broker.fenced == [TP, TP]
    assert loop.restored == [(TP, None), (TP, 90)]
    assert consumer.sought == {TP: 90}


def test_a_kept_lane_is_settled_before_any_restore_reads_the_changelog() -> None:
    broker, _, loop = session()
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP}))
    loop.held.clear()  # its state was dropped (say, revoked mid-restore) but not its lane
    broker.commit(TP, 12)  # a restore's or a tick's write, still completing
    loop.on_committed({TP: 12})
    broker.fenced.clear()
    asyncio.run(Rebalancing(loop).on_partitions_assigned({TP}))
    assert broker.fenced == [TP]
    assert loop.restored[-1] == (TP, 12)


def lane_of(loop: Stateful) -> FencingLane:
    assert loop.checkpoint is not None
    lane = loop.checkpoint.lanes[TP]
    assert isinstance(lane, FencingLane)
    return lane


def test_records_sent_while_a_lane_settles_wait_in_it_and_are_written_after() -> None:
    broker, _, loop = session()

    async def scenario() -> list[str]:
        await Rebalancing(loop).on_partitions_assigned({TP})
        lane = lane_of(loop)
        lane.hold = asyncio.Event()
        broker.commit(TP, 40)
        loop.on_committed({TP: 40})
        assigning = asyncio.create_task(Rebalancing(loop).on_partitions_assigned({TP}))
        await asyncio.sleep(0.01)  # settling, held
        assert loop.checkpoint is not None
        tick = asyncio.create_task(loop.checkpoint.send(TP, [Outbound("t.findings", b"k", b"v")]))
        await asyncio.sleep(0.01)
        order = [f"written {len(lane.written)}, fenced {len(broker.fenced)}"]
        lane.hold.set()
        await asyncio.gather(assigning, tick)
        order.append(f"written {len(lane.written)}, fenced {len(broker.fenced)}")
        return order

    # The tick's record waited behind the settling (not dropped), and the lane is the same.
    assert asyncio.run(scenario()) == ["written 0, fenced 1", "written 1, fenced 2"]
    assert loop.restored == [(TP, None)]


def test_a_batch_submitted_before_the_rebalance_lands_before_the_offset_is_read() -> None:
    broker, consumer, loop = session()

    class CommittingLane(FencingLane):
        async def write(
            self, outputs: list[Outbound], state: list[Outbound], offset: int | None
        ) -> None:
            await asyncio.sleep(0.05)
            assert offset is not None
            broker.stable[TP] = offset  # settled at once, this time
            loop.on_committed({TP: offset})

    async def scenario() -> None:
        await Rebalancing(loop).on_partitions_assigned({TP})
        assert loop.checkpoint is not None
        loop.checkpoint.lanes[TP] = CommittingLane(TP, broker)
        submitted = loop.checkpoint.submit(TP, Batch(), 40)  # a batch still being written
        await Rebalancing(loop).on_partitions_assigned({TP})
        assert submitted is not None
        assert submitted.done()

    asyncio.run(scenario())
    # Read after the batch landed: our own offset, so the state is kept, not restored.
    assert loop.restored == [(TP, None)]
    assert consumer.sought == {TP: 40}


def test_a_lane_that_cannot_settle_ends_the_session_rather_than_stay_paused() -> None:
    broker, consumer, loop = session()

    async def scenario() -> None:
        await Rebalancing(loop).on_partitions_assigned({TP})
        lane_of(loop).fails = True
        broker.commit(TP, 40)
        loop.on_committed({TP: 40})
        await Rebalancing(loop).on_partitions_assigned(
            {TP}
        )  # aiokafka would swallow what this raised

    asyncio.run(scenario())
    assert isinstance(loop.failure, KafkaConnectionError)
    assert TP in consumer.paused
