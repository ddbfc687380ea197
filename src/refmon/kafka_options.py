"""The Kafka flags every Kafka command takes; each also reads from the environment.

The flags default to None: a flag given wins, and pydantic-settings reads what
was not given from REFMON_KAFKA_* and REFMON_TOPIC_PREFIX
(streams/kafka/settings.py). No environment is read here.
"""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from refmon.environment import UsageError
from refmon.streams.kafka import settings as kafka_settings
from refmon.streams.kafka.settings import KAFKA_FLAGS, KafkaCommandSettings, one_line
from refmon.streams.kafka.topics import DEFAULT_PREFIX, Topics

ENV_TOPIC_PREFIX = "REFMON_TOPIC_PREFIX"
KAFKA_FIELDS = {
    "bootstrap_server": "bootstrap",
    "security_protocol": "security_protocol",
    "username": "username",
    "password_file": "password_file",
    "ca_file": "ca_file",
}
"""Flag destinations and the connection fields they set."""


def add_kafka_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Kafka connection (flags win over the environment)")
    group.add_argument(
        "--bootstrap-server", metavar="HOST:PORT[,...]", help=f"or {kafka_settings.ENV_BOOTSTRAP}"
    )
    group.add_argument(
        "--security-protocol",
        choices=["PLAINTEXT", "SASL_SSL"],
        help=f"or {kafka_settings.ENV_PROTOCOL}",
    )
    group.add_argument("--username", help=f"SASL/SCRAM user, or {kafka_settings.ENV_USERNAME}")
    group.add_argument(
        "--password-file",
        metavar="PATH",
        help=f"file holding the SASL password (or {kafka_settings.ENV_PASSWORD_FILE}, or the "
        f"password itself in {kafka_settings.ENV_PASSWORD}); not a flag value, which other "
        "users could see",
    )
    group.add_argument(
        "--ca-file", metavar="PATH", help=f"CA certificate (PEM), or {kafka_settings.ENV_CA_FILE}"
    )
    group.add_argument(
        "--topic-prefix",
        metavar="NAME",
        help=f"topic names and consumer group start with this (default {DEFAULT_PREFIX}, "
        f"or {ENV_TOPIC_PREFIX})",
    )


def kafka_given(args: argparse.Namespace) -> dict[str, Any]:
    """The connection fields set by flags (the rest come from the environment)."""
    return {
        field: getattr(args, dest)
        for dest, field in KAFKA_FIELDS.items()
        if getattr(args, dest, None) is not None
    }


FLAGS = {"topic_prefix": "--topic-prefix", **KAFKA_FLAGS}
"""Settings fields, as pydantic locates an error, and the flags that set them."""


def command_settings(args: argparse.Namespace) -> KafkaCommandSettings:
    try:
        kafka = kafka_settings.KafkaSettings(**kafka_given(args))
        if args.topic_prefix is None:
            return KafkaCommandSettings(kafka=kafka)
        return KafkaCommandSettings(kafka=kafka, topic_prefix=args.topic_prefix)
    except ValidationError as err:
        raise UsageError(one_line(err, FLAGS)) from None


def topics_from(args: argparse.Namespace) -> Topics:
    return command_settings(args).topics


def settings_from(args: argparse.Namespace) -> kafka_settings.KafkaSettings:
    return command_settings(args).kafka
