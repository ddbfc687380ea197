"""`refmon topics create|describe`: the topics refmon uses."""

from __future__ import annotations

import argparse

from refmon.environment import Environment, ExitStatus
from refmon.kafka_options import add_kafka_options, settings_from
from refmon.schemas import load_forces


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("topics", help="create or describe refmon's Kafka topics")
    sub = p.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create the topics that do not exist yet")
    create.add_argument(
        "--partitions", type=int, default=6, metavar="N", help="of the shared topics (default 6)"
    )
    create.add_argument("--replication-factor", type=int, default=1, metavar="N", help="default 1")
    add_kafka_options(create)
    create.set_defaults(handler=create_command)
    describe = sub.add_parser("describe", help="list refmon's topics with partitions and settings")
    add_kafka_options(describe)
    describe.set_defaults(handler=describe_command)


def create_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from kafka.admin import KafkaAdminClient, NewTopic

    from refmon.streams.kafka.topics import specs

    settings = settings_from(args)
    admin = KafkaAdminClient(**settings.kafka_python())
    try:
        existing = set(admin.list_topics())
        every = specs((f.code for f in load_forces()), args.partitions)
        wanted = [s for s in every if s.name not in existing]
        if wanted:
            response = admin.create_topics(
                [
                    NewTopic(s.name, s.partitions, args.replication_factor, topic_configs=s.config)
                    for s in wanted
                ]
            )
            errors = [t for t in response["topics"] if t["error_code"] not in (0, 36)]  # 36: exists
            for topic in errors:
                env.error(f"{topic['name']}: {topic['error_message'] or topic['error_code']}")
            if errors:
                return ExitStatus.ERROR
        print(
            f"refmon: created {len(wanted)} topic(s); {len(every) - len(wanted)} existed",
            file=env.stderr,
        )
    finally:
        admin.close()
    return ExitStatus.OK


def describe_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from kafka.admin import KafkaAdminClient

    from refmon.streams.kafka.topics import PREFIX

    settings = settings_from(args)
    admin = KafkaAdminClient(**settings.kafka_python())
    try:
        names = sorted(t for t in admin.list_topics() if t.startswith(PREFIX))
        for topic in sorted(admin.describe_topics(names), key=lambda t: str(t["name"])):
            print(f"{topic['name']}\tpartitions={len(topic['partitions'])}", file=env.stdout)
    finally:
        admin.close()
    return ExitStatus.OK if names else ExitStatus.ERROR
