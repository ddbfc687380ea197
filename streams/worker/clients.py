"""The worker's aiokafka clients, with the options each needs and why."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics


def group_consumer(
    kafka: KafkaSettings,
    group: str,
    instance_id: str,
    session_timeout_s: float,
    topics: list[str],
    listener: ConsumerRebalanceListener,
) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        group_id=group,
        # Static membership: a worker restarted after a crash takes its own
        # place at once, without waiting for its old session to time out.
        group_instance_id=instance_id,
        # Offsets are committed with the outputs, in a transaction (lanes.py):
        # the consumer never commits on its own.
        enable_auto_commit=False,
        # The by-force topic is written in transactions: only what committed is judged.
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        session_timeout_ms=int(session_timeout_s * 1000),
        heartbeat_interval_ms=int(session_timeout_s * 1000 / 5),
        max_poll_interval_ms=300_000,
        partition_assignment_strategy=(StickyPartitionAssignor,),
        **kafka.aiokafka(),
    )
    consumer.subscribe(topics, listener=listener)
    return consumer


def producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        acks="all",
        enable_idempotence=True,
        # A batch's sends are gathered anyway: waiting for more only adds latency.
        linger_ms=0,
        max_batch_size=256 * 1024,
        **kafka.aiokafka(),
    )


def transactional_id(topics: Topics, tp: TopicPartition) -> str:
    """Named after the input partition, not the worker: whoever is assigned the partition
    next fences whoever had it (aiokafka sends no group metadata to fence by, KIP-447).
    Under `<prefix>.tx.`, which no other deployment's names can start with (a prefix
    has no dot), so one prefixed ACL grants exactly these."""
    topic = tp.topic.removeprefix(topics.prefix + ".")
    return f"{topics.transactional_prefix}{topic}.{tp.partition}"


def transactional_producer(kafka: KafkaSettings, transactional_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        transactional_id=transactional_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=0,
        max_batch_size=256 * 1024,
        **kafka.aiokafka(),
    )
