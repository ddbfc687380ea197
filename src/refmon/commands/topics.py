"""`refmon topics create|describe`: the topics refmon uses."""

from __future__ import annotations

import argparse
import time
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.schemas import load_forces
from refmon.streams.kafka.acls import (
    ADMIN_USER,
    FORCE_USER_FORMAT,
    WATCHDOG_USER,
    WORKER_USER,
    Principals,
)

PRINCIPAL_OPTIONS = [
    (
        "--worker-principal",
        "REFMON_KAFKA_WORKER_PRINCIPAL",
        WORKER_USER,
        "the workers: read their inputs, read and write their own topics, no topic creation",
    ),
    (
        "--admin-principal",
        "REFMON_KAFKA_ADMIN_PRINCIPAL",
        ADMIN_USER,
        "runs `refmon topics create`: creates and deletes refmon's topics, reads no data",
    ),
    ("--watchdog-principal", "REFMON_KAFKA_WATCHDOG_PRINCIPAL", WATCHDOG_USER, "the watchdog"),
    (
        "--force-principal",
        "REFMON_KAFKA_FORCE_PRINCIPAL",
        FORCE_USER_FORMAT,
        "each force; {code} is its code",
    ),
]


class PrincipalSettings(BaseSettings):
    """The principals' names from REFMON_KAFKA_*_PRINCIPAL, for the flags not given."""

    model_config = SettingsConfigDict(env_prefix="REFMON_KAFKA_", frozen=True, extra="ignore")

    worker_principal: str = WORKER_USER
    admin_principal: str = ADMIN_USER
    watchdog_principal: str = WATCHDOG_USER
    force_principal: str = FORCE_USER_FORMAT


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("topics", help="create or describe refmon's Kafka topics")
    sub = p.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create the topics that do not exist yet")
    create.add_argument(
        "--partitions", type=int, default=6, metavar="N", help="of the shared topics (default 6)"
    )
    create.add_argument(
        "--replication-factor",
        type=int,
        default=None,
        metavar="N",
        help="copies of each partition (default: 3, or every broker of a smaller cluster)",
    )
    add_kafka_options(create)
    create.set_defaults(handler=create_command)
    acl = sub.add_parser(
        "acl",
        help="grant each force, the watchdog, the workers and the topic admin their access "
        "(needs an authorizer)",
    )
    principals = acl.add_argument_group(
        "principals (SCRAM user names; flags win over the environment)"
    )
    for flag, env_name, default, what in PRINCIPAL_OPTIONS:
        principals.add_argument(
            flag,
            metavar="NAME" if "{code}" not in default else "FORMAT",
            help=f"{what} (default {default}, or {env_name})",
        )
    acl.add_argument(
        "--prune",
        action="store_true",
        help="also delete grants on this deployment's topics and groups that the plan no "
        "longer makes (such as an earlier release's ALL for the worker); without it they "
        "are listed and the exit status is 1",
    )
    add_kafka_options(acl)
    acl.set_defaults(handler=acl_command)
    describe = sub.add_parser("describe", help="list refmon's topics with partitions and settings")
    add_kafka_options(describe)
    describe.set_defaults(handler=describe_command)


def create_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from kafka.admin import KafkaAdminClient, NewTopic

    if args.replication_factor is not None and args.replication_factor < 1:
        raise UsageError("--replication-factor must be at least 1")
    settings = settings_from(args)
    admin = KafkaAdminClient(**settings.kafka_python())
    try:
        brokers = len(admin.describe_cluster()["brokers"])
        replicas = replication_factor(args.replication_factor, brokers)
        existing = set(admin.list_topics())
        every = topics_from(args).specs((f.code for f in load_forces()), args.partitions)
        wanted = [s for s in every if s.name not in existing]
        if wanted:
            response = admin.create_topics(
                [NewTopic(s.name, s.partitions, replicas, topic_configs=s.config) for s in wanted]
            )
            errors = [t for t in response["topics"] if t["error_code"] not in (0, 36)]  # 36: exists
            for topic in errors:
                env.error(f"{topic['name']}: {topic['error_message'] or topic['error_code']}")
            if errors:
                return ExitStatus.ERROR
            _wait_for_leaders(admin, [s.name for s in wanted])
        print(
            f"refmon: created {len(wanted)} topic(s); {len(every) - len(wanted)} existed",
            file=env.stderr,
        )
    finally:
        admin.close()
    return ExitStatus.OK


def replication_factor(asked: int | None, brokers: int) -> int:
    """What was asked for, else three copies (the most a write waits for is two, the
    brokers' min.insync.replicas), or as many as a smaller cluster has brokers."""
    return asked if asked is not None else max(1, min(3, brokers))


def describe_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from kafka.admin import KafkaAdminClient

    settings = settings_from(args)
    admin = KafkaAdminClient(**settings.kafka_python())
    try:
        prefix = topics_from(args).prefix
        names = sorted(
            t
            for t in admin.list_topics()
            if t.startswith(f"{prefix}.") or t.startswith(f"{prefix}-")
        )
        for topic in sorted(admin.describe_topics(names), key=lambda t: str(t["name"])):
            print(f"{topic['name']}\tpartitions={len(topic['partitions'])}", file=env.stdout)
    finally:
        admin.close()
    return ExitStatus.OK if names else ExitStatus.ERROR


def _wait_for_leaders(admin: Any, names: list[str], timeout_s: float = 30.0) -> None:
    """New partitions take a moment to elect a leader; producers that start sooner retry."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        described = admin.describe_topics(names)
        if all(p["leader_id"] >= 0 for t in described for p in t["partitions"]):
            return
        time.sleep(0.2)
    raise TimeoutError(f"topics without a leader after {timeout_s:.0f} s")


def acl_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from kafka.admin import KafkaAdminClient

    from refmon.streams.kafka import acls

    # Flags given win; pydantic-settings reads the rest from the environment.
    given = {
        name: getattr(args, name)
        for name in PrincipalSettings.model_fields
        if getattr(args, name) is not None
    }
    chosen = PrincipalSettings(**given)
    principals = Principals(
        worker=chosen.worker_principal,
        admin=chosen.admin_principal,
        watchdog=chosen.watchdog_principal,
        force_format=chosen.force_principal,
    )
    names = topics_from(args)
    try:
        grants = acls.plan(names, (f.code for f in load_forces()), principals)
    except ValueError as err:
        raise UsageError(str(err)) from None
    admin = KafkaAdminClient(**settings_from(args).kafka_python())
    not_deleted: list[str] = []
    try:
        # The new grants first: pruning the old ones then leaves no gap.
        not_created = acls.apply(admin, grants)
        left = acls.stale(acls.existing(admin), grants, names)
        if args.prune and left:
            not_deleted = acls.revoke(admin, left)
            print(f"refmon: deleted {len(left) - len(not_deleted)} stale ACL(s)", file=env.stderr)
            left = []
    finally:
        admin.close()
    for failure in not_created:
        env.error(f"ACL not created: {failure}")
    for failure in not_deleted:
        env.error(f"ACL not deleted: {failure}")
    for grant in left:
        env.error(
            f"stale ACL still in force: User:{grant.user} {grant.operation} on {grant.resource} "
            f"{grant.name!r} ({grant.pattern}); --prune deletes it"
        )
    print(f"refmon: {len(grants) - len(not_created)} ACL(s) in place", file=env.stderr)
    failed = not_created or not_deleted or left
    return ExitStatus.ERROR if failed else ExitStatus.OK
