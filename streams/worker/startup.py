"""What a worker checks against the cluster before it starts: its topics exist, and how
many partitions they have.

The partition count decides which forces feed each by-force partition (a force's
partition is fixed by it), so a worker that assumed another count than the topics
have would route forces to partitions whose state lives elsewhere. Left out, the
count is read from the topics; given (--partitions, REFMON_PARTITIONS), it must
match them or the worker refuses to start.
"""

from __future__ import annotations

from collections.abc import Mapping

from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics

__all__ = ["StartupError", "partition_count", "partitioned_topics", "read_partitions"]


class StartupError(Exception):
    """The cluster does not fit this worker: one line for the operator."""


def partitioned_topics(topics: Topics) -> tuple[str, ...]:
    """The topics created with the partition count (`Topics.specs`)."""
    return (topics.by_force, topics.cases_changelog, topics.findings)


def partition_count(given: int | None, found: Mapping[str, int | None]) -> int:
    """The partition count to run with, from what the topics have; `given` must agree."""
    missing = sorted(name for name, count in found.items() if count is None)
    if missing:
        raise StartupError(
            f"topic(s) {', '.join(missing)} do not exist: create them with "
            "`refmon topics create` (with the same --topic-prefix)"
        )
    counts = {name: count for name, count in found.items() if count is not None}
    distinct = set(counts.values())
    if len(distinct) != 1:
        listed = ", ".join(f"{name} has {count}" for name, count in sorted(counts.items()))
        raise StartupError(f"the topics disagree on their partition count: {listed}")
    [have] = distinct
    if given is not None and given != have:
        raise StartupError(
            f"--partitions {given} (or REFMON_PARTITIONS) does not match the topics, which have "
            f"{have} partitions: the count decides which forces feed each partition; leave it "
            "out to take it from the topics"
        )
    return have


def read_partitions(kafka: KafkaSettings, names: tuple[str, ...]) -> dict[str, int | None]:
    """Each topic's partition count from the cluster's metadata; None: no such topic."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(enable_auto_commit=False, **kafka.kafka_python())
    try:
        existing = consumer.topics()  # fetches the metadata of every topic we may see
        counts: dict[str, int | None] = {}
        for name in names:
            partitions = consumer.partitions_for_topic(name) if name in existing else None
            counts[name] = None if partitions is None else len(partitions)
        return counts
    finally:
        consumer.close()
