"""Who may do what: each force writes its own input topic and reads its own alerts;
the watchdog writes its topic; the worker reads and writes exactly the topics it
uses (`Topics.worker_access`) and can neither create nor delete any; a separate
admin principal creates and deletes refmon's topics.

Topic grants name each topic exactly: a deployment's prefix may be the start of
another's (`refmon` and `refmon-staging`), so a prefixed grant on `refmon` or
`refmon-` would reach into the other. The one prefixed grant left, a force's
consumer groups, ends in a delimiter and cannot match another deployment's names
(force codes are upper case, topic prefixes lower case).

The plan is plain data (tested without Kafka); `apply` turns it into Kafka ACLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from refmon.streams.kafka.topics import WATCHDOG, Topics

WORKER_USER = "refmon-worker"
ADMIN_USER = "refmon-admin"
WATCHDOG_USER = "watchdog"
FORCE_USER_FORMAT = "force-{code}"

Resource = Literal["topic", "group", "cluster", "transactional_id"]
Pattern = Literal["literal", "prefixed"]
# Kafka's operations (those an ACL found on the broker may carry, too).
Operation = Literal[
    "read",
    "write",
    "create",
    "delete",
    "alter",
    "describe",
    "cluster_action",
    "describe_configs",
    "alter_configs",
    "idempotent_write",
    "create_tokens",
    "describe_tokens",
    "all",
]
CLUSTER = "kafka-cluster"
# A SCRAM user name as Kafka sees it after `User:`; `*` would be everyone.
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$")


def force_user(code: str) -> str:
    return FORCE_USER_FORMAT.format(code=code)


def force_group(topics: Topics, user: str) -> str:
    """A force's consumer group for its alerts; it may also use any starting `<this>-`."""
    return f"{topics.prefix}-{user}"


@dataclass(frozen=True, slots=True)
class Grant:
    user: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


@dataclass(frozen=True, slots=True)
class Principals:
    """The SCRAM user names of each role: one set per deployment, today's names by default."""

    worker: str = WORKER_USER
    admin: str = ADMIN_USER
    watchdog: str = WATCHDOG_USER
    force_format: str = FORCE_USER_FORMAT
    """`{code}` stands for the force code, e.g. `staging-force-{code}`."""

    def force(self, code: str) -> str:
        return self.force_format.format(code=code)

    def check(self, forces: Iterable[str]) -> None:
        """Raise ValueError unless every name is valid and every role has its own."""
        if self.force_format.count("{code}") != 1 or re.search(
            r"[{}]", self.force_format.replace("{code}", "")
        ):
            raise ValueError(
                f"force principal {self.force_format!r}: must contain {{code}} once, "
                "and no other braces"
            )
        roles = [("worker", self.worker), ("admin", self.admin), ("watchdog", self.watchdog)]
        roles += [(f"force {code}", self.force(code)) for code in forces]
        seen: dict[str, str] = {}
        for role, name in roles:
            if not _PRINCIPAL.match(name):
                raise ValueError(
                    f"{role} principal {name!r}: letters, digits and . _ @ -, "
                    "starting with a letter or digit"
                )
            if name in seen:
                raise ValueError(
                    f"{role} and {seen[name]} principals are both {name!r}: "
                    "each role needs its own, or one gets the other's rights"
                )
            seen[name] = role


def plan(
    topics: Topics, forces: Iterable[str], principals: Principals | None = None
) -> list[Grant]:
    """Every ACL refmon needs; raises ValueError for unusable principal names."""
    who = principals or Principals()
    forces = list(forces)
    who.check(forces)
    grants: list[Grant] = []
    for code in forces:
        user = who.force(code)
        group = force_group(topics, user)
        grants += [
            Grant(user, "topic", topics.input(code), "literal", "write"),
            Grant(user, "topic", topics.input(code), "literal", "describe"),
            Grant(user, "topic", topics.alerts(code), "literal", "read"),
            Grant(user, "topic", topics.alerts(code), "literal", "describe"),
            # A force's own consumer groups, for reading its alerts: the group
            # named after it, or any starting with that name and a dash.
            Grant(user, "group", group, "literal", "read"),
            Grant(user, "group", f"{group}-", "prefixed", "read"),
            # Idempotent producers (the default) ask the cluster for a producer id.
            Grant(user, "cluster", CLUSTER, "literal", "idempotent_write"),
        ]
    grants += [
        Grant(who.watchdog, "topic", topics.input(WATCHDOG), "literal", "write"),
        Grant(who.watchdog, "topic", topics.input(WATCHDOG), "literal", "describe"),
        Grant(who.watchdog, "cluster", CLUSTER, "literal", "idempotent_write"),
    ]
    grants += worker_grants(topics, forces, who.worker)
    # The admin creates and deletes refmon's topics and sees them (to skip
    # those that exist and wait for leaders), but reads and writes no data.
    for spec in topics.specs(forces):
        grants += [
            Grant(who.admin, "topic", spec.name, "literal", op)
            for op in ("create", "delete", "describe")
        ]
    return grants


def worker_grants(topics: Topics, forces: Iterable[str], user: str = WORKER_USER) -> list[Grant]:
    """Exactly what `Topics.worker_access` lists (read implies describe)."""
    access = topics.worker_access(forces)
    grants = [Grant(user, "topic", name, "literal", "read") for name in access.reads]
    grants += [Grant(user, "topic", name, "literal", "write") for name in access.writes]
    grants += [Grant(user, "topic", name, "literal", "create") for name in access.creates]
    # Joining, committing to and describing its group all need read on it.
    grants += [Grant(user, "group", name, "literal", "read") for name in access.groups]
    grants.append(Grant(user, "cluster", CLUSTER, "literal", "idempotent_write"))
    # Its transactional producers, one per input partition (streams/worker/lanes.py):
    # prefixed by `<prefix>.tx.`, which no other deployment's names can start with.
    grants += [
        Grant(user, "transactional_id", topics.transactional_prefix, "prefixed", op)
        for op in ("write", "describe")
    ]
    return grants


def stale(existing: Iterable[Grant], grants: list[Grant], topics: Topics) -> list[Grant]:
    """Grants in place that the plan no longer makes, on this deployment's names.

    Chiefly what earlier releases granted (the worker's ALL on every topic and
    group starting with the prefix): adding the narrow grants leaves those in
    force. Only the plan's principals, and only names this deployment uses (or
    its bare prefix) count: principals may be shared with other deployments,
    whose grants are theirs. Cluster grants are shared too, and left alone.
    """
    planned = set(grants)
    users = {g.user for g in grants}
    ours = {(g.resource, g.name) for g in grants if g.resource != "cluster"}
    ours |= {("topic", topics.prefix), ("group", topics.prefix)}
    found = {
        g for g in existing if g.user in users and (g.resource, g.name) in ours and g not in planned
    }
    return sorted(found, key=lambda g: (g.user, g.resource, g.name, g.pattern, g.operation))


def apply(admin: Any, grants: list[Grant]) -> list[str]:
    """Create the ACLs; returns the failures, as text."""
    result = admin.create_acls([_acl(g) for g in grants])
    return [str(failure) for failure in result.get("failed", [])]


def existing(admin: Any) -> list[Grant]:
    """Every ALLOW for a user on a topic, group or the cluster (DENY rules are left alone)."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    every = ACLFilter(
        principal=None,
        host=None,
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    found, _ = admin.describe_acls(every)
    grants: list[Grant] = []
    for acl in found:
        resource = acl.resource_pattern.resource_type.name.lower()
        pattern = acl.resource_pattern.pattern_type.name.lower()
        if (
            acl.principal.startswith("User:")
            and acl.host == "*"
            and resource in _KINDS
            and pattern in _PATTERNS
        ):
            grants.append(
                Grant(
                    acl.principal[len("User:") :],
                    resource,
                    acl.resource_pattern.resource_name,
                    pattern,
                    acl.operation.name.lower(),
                )
            )
    return grants


def revoke(admin: Any, grants: list[Grant]) -> list[str]:
    """Delete exactly these ACLs; returns the failures, as text."""
    from kafka.admin import ACLFilter, ResourcePatternFilter

    filters = []
    for grant in grants:
        acl = _acl(grant)
        pattern = acl.resource_pattern
        filters.append(
            ACLFilter(
                principal=acl.principal,
                host=acl.host,
                operation=acl.operation,
                permission_type=acl.permission_type,
                resource_pattern=ResourcePatternFilter(
                    pattern.resource_type, pattern.resource_name, pattern.pattern_type
                ),
            )
        )
    results = admin.delete_acls(filters) if filters else []
    return [f"{acl_filter}: {error}" for acl_filter, _, error in results if error.errno != 0]


_KINDS = {
    "topic": "TOPIC",
    "group": "GROUP",
    "cluster": "CLUSTER",
    "transactional_id": "TRANSACTIONAL_ID",
}
_PATTERNS = {"literal": "LITERAL", "prefixed": "PREFIXED"}


def _acl(grant: Grant) -> Any:
    from kafka.admin import (
        ACL,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourceType,
    )

    pattern = ResourcePattern(
        ResourceType[_KINDS[grant.resource]],
        grant.name,
        ACLResourcePatternType[_PATTERNS[grant.pattern]],
    )
    return ACL(
        principal=f"User:{grant.user}",
        host="*",
        operation=ACLOperation[grant.operation.upper()],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=pattern,
    )
