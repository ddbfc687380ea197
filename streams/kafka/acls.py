"""Who may do what: each force writes its own input topic and reads its own alerts;
the watchdog writes its topic; the workers' principal owns refmon's internal topics.

The plan is plain data (tested without Kafka); `apply` turns it into Kafka ACLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from refmon.streams.kafka.topics import WATCHDOG, Topics

WORKER_USER = "refmon-worker"
WATCHDOG_USER = "watchdog"

Resource = Literal["topic", "group", "cluster"]
Pattern = Literal["literal", "prefixed"]
Operation = Literal["read", "write", "describe", "idempotent_write", "all"]
CLUSTER = "kafka-cluster"


def force_user(code: str) -> str:
    return f"force-{code}"


@dataclass(frozen=True, slots=True)
class Grant:
    user: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


def plan(topics: Topics, forces: Iterable[str]) -> list[Grant]:
    grants: list[Grant] = []
    for code in forces:
        user = force_user(code)
        grants += [
            Grant(user, "topic", topics.input(code), "literal", "write"),
            Grant(user, "topic", topics.input(code), "literal", "describe"),
            Grant(user, "topic", topics.alerts(code), "literal", "read"),
            Grant(user, "topic", topics.alerts(code), "literal", "describe"),
            # A force's own consumer groups, for reading its alerts.
            Grant(user, "group", f"{topics.prefix}-{user}", "prefixed", "read"),
            # Idempotent producers (the default) ask the cluster for a producer id.
            Grant(user, "cluster", CLUSTER, "literal", "idempotent_write"),
        ]
    grants += [
        Grant(WATCHDOG_USER, "topic", topics.input(WATCHDOG), "literal", "write"),
        Grant(WATCHDOG_USER, "topic", topics.input(WATCHDOG), "literal", "describe"),
        Grant(WATCHDOG_USER, "cluster", CLUSTER, "literal", "idempotent_write"),
        # Every topic and group under the prefix (Faust creates some of its own).
        Grant(WORKER_USER, "topic", topics.prefix, "prefixed", "all"),
        Grant(WORKER_USER, "group", topics.prefix, "prefixed", "all"),
        Grant(WORKER_USER, "cluster", CLUSTER, "literal", "describe"),
        Grant(WORKER_USER, "cluster", CLUSTER, "literal", "idempotent_write"),
    ]
    return grants


def apply(admin: Any, grants: list[Grant]) -> list[str]:
    """Create the ACLs; returns the failures, as text."""
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    kinds = {
        "topic": ResourceType.TOPIC,
        "group": ResourceType.GROUP,
        "cluster": ResourceType.CLUSTER,
    }
    patterns = {
        "literal": ACLResourcePatternType.LITERAL,
        "prefixed": ACLResourcePatternType.PREFIXED,
    }
    acls = [
        ACL(
            principal=f"User:{g.user}",
            host="*",
            operation=ACLOperation[g.operation.upper()],
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(kinds[g.resource], g.name, patterns[g.pattern]),
        )
        for g in grants
    ]
    result = admin.create_acls(acls)
    return [str(failure) for failure in result.get("failed", [])]
