"""Leaving the consumer groups for good: a stopped worker's partitions move at once.

The worker's consumers are static members (clients.py), so that a worker
restarted after a crash takes its own partitions straight back. aiokafka sends
no LeaveGroup for a static member when it stops, so a worker stopped for good
(SIGTERM) would hold its partitions until its session timed out. On such a stop
the worker removes its own static identities from its groups (LeaveGroup v3,
KIP-345, as Kafka's own `RemoveMembersFromConsumerGroup` does), through
kafka-python's admin client, after its consumers have stopped (earlier, they
would simply join again). A failed removal is logged and leaves the session
timeout to do it, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from refmon.streams.kafka.settings import KafkaSettings

log = logging.getLogger("refmon.worker")

LEAVE_TIMEOUT_S = 4.0
"""What leaving may add to a stop: SIGTERM ends a worker within 10 s."""


def _remove(kafka: KafkaSettings, members: list[tuple[str, str]]) -> None:
    from kafka.admin import KafkaAdminClient, MemberToRemove

    timeout_ms = int(LEAVE_TIMEOUT_S * 1000)
    admin = KafkaAdminClient(
        **kafka.kafka_python(), request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms
    )
    try:
        for group, instance_id in members:
            admin.remove_group_members(
                group, [MemberToRemove(group_instance_id=instance_id, reason="worker stopped")]
            )
    finally:
        admin.close()


async def leave_groups(kafka: KafkaSettings, members: Iterable[tuple[str, str]]) -> bool:
    """Remove each (group, group_instance_id) from its group; True when all were removed."""
    wanted = list(members)
    try:
        await asyncio.wait_for(asyncio.to_thread(_remove, kafka, wanted), LEAVE_TIMEOUT_S * 2)
    except Exception as err:  # any failure leaves it to the session timeout, as before
        log.warning("could not leave the consumer groups (%r): the session timeout will", err)
        return False
    log.info("left the consumer groups: their partitions move to the other workers now")
    return True
