"""`refmon publish`: the integrator's tool. Validates, routes and sends events to Kafka."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from refmon.commands.run import open_input
from refmon.environment import Environment, ExitStatus
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.progress import Progress
from refmon.schemas import event_adapter
from refmon.schemas.rejections import Rejection
from refmon.streams.decode import decode
from refmon.streams.runner.lines import read_lines


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "publish",
        help="validate JSON Lines events and send each to its force's (or the watchdog's) topic",
        description="Reads JSON Lines, validates every event against the contract, and sends the "
        "valid ones keyed by case, idempotently (acks=all). Invalid lines are reported, not sent. "
        "Exit status 1 if any line was not delivered.",
    )
    p.add_argument("--input", required=True, metavar="PATH|-", help="events; - for stdin")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or per-line reports")
    add_kafka_options(p)
    p.set_defaults(handler=publish_command)


def publish_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from kafka import KafkaProducer

    from refmon.streams.kafka.topics import expected_source

    settings = settings_from(args)
    names = topics_from(args)
    source, size = open_input(args.input, env)
    adapter = event_adapter()
    producer = KafkaProducer(
        acks="all", enable_idempotence=True, linger_ms=20, **settings.kafka_python()
    )
    sent: Counter[str] = Counter()
    failed: list[Any] = []
    rejected = done_bytes = 0
    try:
        with Progress(size, enabled=env.stderr_isatty and not args.quiet, stream=env.stderr) as bar:
            for line in read_lines(source):
                done_bytes += line.size + 1
                decoded = (
                    decode(adapter, line.data)
                    if line.data is not None
                    else Rejection("too_long", "line too long")
                )
                if isinstance(decoded, Rejection):
                    rejected += 1
                    if not args.quiet:
                        env.warn(f"line {line.number} not sent: {decoded.message}")
                    continue
                topic = names.input(expected_source(decoded.event_type, decoded.force))
                key = f"{decoded.force}/{decoded.case_id}".encode()
                future = producer.send(topic, key=key, value=line.data)
                future.add_errback(failed.append)
                sent[topic] += 1
                if line.number % 2048 == 0:
                    bar.update(done_bytes, line.number)
            producer.flush()
    finally:
        producer.close()
        if source is not env.stdin:
            source.close()
    delivered = sum(sent.values()) - len(failed)
    print(
        f"refmon: published {delivered} event(s) to {len(sent)} topic(s); "
        f"{rejected} invalid line(s) not sent; {len(failed)} failed",
        file=env.stderr,
    )
    for error in failed[:5]:
        env.error(f"delivery failed: {error}")
    return ExitStatus.ERROR if failed or rejected else ExitStatus.OK
