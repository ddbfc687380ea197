"""The Kafka flags every Kafka command takes; each also reads from the environment."""

from __future__ import annotations

import argparse
import os

from refmon.environment import UsageError
from refmon.streams.kafka import settings as kafka_settings
from refmon.streams.kafka.topics import DEFAULT_PREFIX, Topics

ENV_TOPIC_PREFIX = "REFMON_TOPIC_PREFIX"


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
        help=f"file holding the SASL password (or {kafka_settings.ENV_PASSWORD}); not a flag "
        "value, which other users could see",
    )
    group.add_argument(
        "--ca-file", metavar="PATH", help=f"CA certificate (PEM), or {kafka_settings.ENV_CA_FILE}"
    )
    group.add_argument(
        "--topic-prefix",
        default=os.environ.get(ENV_TOPIC_PREFIX, DEFAULT_PREFIX),
        metavar="NAME",
        help=f"topic names and consumer group start with this (default {DEFAULT_PREFIX}, "
        f"or {ENV_TOPIC_PREFIX})",
    )


def topics_from(args: argparse.Namespace) -> Topics:
    try:
        return Topics(args.topic_prefix)
    except ValueError as err:
        raise UsageError(str(err)) from None


def settings_from(args: argparse.Namespace) -> kafka_settings.KafkaSettings:
    password = None
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                password = handle.read().strip()
        except OSError as err:
            raise UsageError(f"cannot read {args.password_file}: {err.strerror}") from None
    try:
        return kafka_settings.resolve(
            args.bootstrap_server, args.security_protocol, args.username, password, args.ca_file
        )
    except kafka_settings.SettingsError as err:
        raise UsageError(str(err)) from None
