"""Reading a force's alerts topic with the force's own credentials (kafka-python).

Under the ACLs (streams/kafka/acls.py) a force may read its alerts topic and
use consumer groups named after its user, nothing else: so this reader names
its topic partitions itself (no subscription, no rebalance) and keeps its place
in the force's group only when asked to. It reads `read_committed`: alerts the
workers wrote in a transaction that was then aborted are never shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from refmon.streams.kafka.settings import KafkaSettings

Start = Literal["beginning", "committed", "end"]
POLL_MS = 1000


class AlertRecord(NamedTuple):
    partition: int
    offset: int
    value: bytes | None


class AlertsReader:
    def __init__(self, settings: KafkaSettings, topic: str, group: str | None = None) -> None:
        self.topic = topic
        self._consumer: Any = KafkaConsumer(
            group_id=group,
            enable_auto_commit=False,
            isolation_level="read_committed",
            **settings.kafka_python(),
        )
        self._tps: list[Any] = []

    def __enter__(self) -> AlertsReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self._consumer.close()

    def start(self, where: Start) -> None:
        """`committed`: where this group left off, else the end (only alerts still to come)."""
        partitions = self._consumer.partitions_for_topic(self.topic)
        if not partitions:
            raise LookupError(f"topic {self.topic} does not exist or may not be read")
        self._tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._tps)
        if where == "beginning":
            self._consumer.seek_to_beginning(*self._tps)
            return
        for tp in self._tps:
            at = self._consumer.committed(tp) if where == "committed" else None
            if at is None:
                self._consumer.seek_to_end(tp)
            else:
                self._consumer.seek(tp, at)

    def trimmed(self) -> bool:
        """Whether the topic has let go of its oldest alerts (retention): its first offset is
        no longer 0, so what it holds is not the whole history."""
        first = self._consumer.beginning_offsets(self._tps)
        return any(offset > 0 for offset in first.values())

    def records(self, follow: bool) -> Iterator[AlertRecord]:
        """In offset order per partition; without `follow`, up to the end seen at the start."""
        end = self._consumer.end_offsets(self._tps)
        remaining = {tp for tp in self._tps if end[tp] > self._consumer.position(tp)}
        while follow or remaining:
            batch = self._consumer.poll(timeout_ms=POLL_MS)
            for tp, found in batch.items():
                for r in found:
                    yield AlertRecord(tp.partition, r.offset, r.value)
            for tp in list(remaining):
                if self._consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)

    def commit(self, record: AlertRecord) -> None:
        """This record is done: a restart in the same group starts after it."""
        tp = TopicPartition(self.topic, record.partition)
        self._consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
