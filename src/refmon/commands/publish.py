"""`refmon publish`: the integrator's tool. Validates, routes and sends events to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from refmon.commands.run import open_input
from refmon.environment import Environment, ExitStatus
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.outputs import check_outputs
from refmon.progress import Progress
from refmon.schemas import event_adapter
from refmon.schemas.rejections import Rejection
from refmon.streams.engine.timeutil import to_micros
from refmon.streams.kafka.settings import KafkaSettings
from refmon.streams.kafka.topics import Topics, expected_source
from refmon.streams.runner.lines import Line, read_lines
from refmon.streams.time_range import out_of_range
from refmon.streams.wire.dead_letters import DeadLetter, dumps_dead_letter
from refmon.streams.wire.decode import decode

PROGRESS_EVERY = 2048


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "publish",
        help="validate JSON Lines events and send each to its force's (or the watchdog's) topic",
        description="Reads JSON Lines, validates every event against the contract (the same "
        "checks as `refmon run`, the time rule included), and sends the valid ones keyed by "
        "case, idempotently (acks=all), in batches. Invalid lines are not sent: they go to "
        "--dead-letter with their line number and reason, or are named on standard error. "
        "Exit status 1 if any line was not delivered.",
    )
    p.add_argument("--input", required=True, metavar="PATH|-", help="events; - for stdin")
    p.add_argument(
        "--dead-letter",
        metavar="PATH|-",
        help="write lines that were not sent here, with line number and reason",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or per-line reports")
    add_kafka_options(p)
    p.set_defaults(handler=publish_command)


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    failed: list[BaseException] = field(default_factory=list)


MAX_QUEUED_BATCHES = 64
"""Full batches waiting to be sent, at most: reading runs ahead of the broker, not away."""


Reject = Callable[[Line, Rejection], None]


def _not_authorized(topic: str) -> Rejection:
    return Rejection(
        "not_authorized",
        f"these credentials may not write topic {topic} (another force's events?)",
    )


class Batches:
    """One open batch per topic partition, sent whole when full: the per-message cost of a
    send is paid once per batch, which is what lets a national year go out in seconds.

    The client queues one batch per partition at a time, so a full batch is handed to a
    task that waits its turn behind the partition's previous one (order is kept), and
    reading and validating go on meanwhile.
    """

    def __init__(self, producer: Any, tally: Tally, reject: Reject) -> None:
        from aiokafka.partitioner import DefaultPartitioner

        self._producer = producer
        self._tally = tally
        self._reject = reject
        self._refused: set[str] = set()
        # The lines in each open batch: a batch the broker refuses goes to the dead letters.
        self._lines: dict[tuple[str, int], list[Line]] = {}
        self._partitioner = DefaultPartitioner()
        self._open: dict[tuple[str, int], Any] = {}
        self._partitions: dict[str, list[int]] = {}
        self._tails: dict[tuple[str, int], asyncio.Task[Any]] = {}
        self._queued: list[asyncio.Task[Any]] = []
        self._pending: list[Awaitable[None]] = []

    async def add(self, topic: str, key: bytes, line: Line) -> None:
        """Queue the line for its topic; a line for a topic these credentials may not write
        is a dead letter, and the other topics' lines carry on."""
        from aiokafka.errors import TopicAuthorizationFailedError

        value = line.data
        assert value is not None
        if topic in self._refused:
            self._refuse(line, topic)
            return
        partitions = self._partitions.get(topic)
        if partitions is None:
            try:
                partitions = sorted(await self._producer.partitions_for(topic))
            except TopicAuthorizationFailedError:
                self._refused.add(topic)
                self._refuse(line, topic)
                return
            self._partitions[topic] = partitions
        partition = self._partitioner(key, partitions, partitions)
        batch = self._open.get((topic, partition))
        if batch is None:
            batch = self._open[(topic, partition)] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            await self._send(topic, partition)
            batch = self._open[(topic, partition)] = self._producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
        self._lines.setdefault((topic, partition), []).append(line)
        self._tally.sent[topic] += 1

    def _refuse(self, line: Line, topic: str) -> None:
        self._tally.rejected += 1
        self._reject(line, _not_authorized(topic))

    async def _send(self, topic: str, partition: int) -> None:
        batch = self._open.pop((topic, partition))
        lines = self._lines.pop((topic, partition), [])
        previous = self._tails.get((topic, partition))
        task = asyncio.create_task(self._in_turn(previous, batch, lines, topic, partition))
        self._tails[(topic, partition)] = task
        self._queued.append(task)
        if len(self._queued) > MAX_QUEUED_BATCHES:
            await self._queued.pop(0)

    async def _in_turn(
        self,
        previous: asyncio.Task[Any] | None,
        batch: Any,
        lines: list[Line],
        topic: str,
        partition: int,
    ) -> None:
        if previous is not None:
            await previous  # never raises: failures are tallied where they happen
        try:
            sent = await self._producer.send_batch(batch, topic, partition=partition)
        except Exception as err:  # the client's own refusal (closed, timed out queueing)
            self._tally.failed.append(err)
        else:
            self._pending.append(self._delivered(sent, lines, topic))

    async def _delivered(self, sent: asyncio.Future[Any], lines: list[Line], topic: str) -> None:
        """Wait for the broker's answer; a refused batch's lines become dead letters."""
        from aiokafka.errors import TopicAuthorizationFailedError

        try:
            await sent
        except TopicAuthorizationFailedError:
            self._tally.sent[topic] -= len(lines)
            for line in lines:
                self._refuse(line, topic)

    async def flush(self) -> None:
        for topic, partition in list(self._open):
            await self._send(topic, partition)
        await asyncio.gather(*self._queued)
        for outcome in await asyncio.gather(*self._pending, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self._tally.failed.append(outcome)
        self._pending.clear()


def _verdict(adapter: Any, names: Topics, line: Line, now_us: int) -> tuple[str, bytes] | Rejection:
    if line.data is None:
        return Rejection("too_long", f"line is {line.size} bytes, over the limit")
    decoded = decode(adapter, line.data)
    if isinstance(decoded, Rejection):
        return decoded
    late = out_of_range("occurred_at", to_micros(decoded.occurred_at), now_us)
    if late is not None:
        return late
    return names.input(expected_source(decoded.event_type, decoded.force)), (
        f"{decoded.force}/{decoded.case_id}".encode()
    )


async def _publish(
    settings: KafkaSettings,
    names: Topics,
    lines: Iterator[Line],
    now_us: int,
    reject: Reject,
    progress: Callable[[Line], None],
) -> Tally:
    from aiokafka import AIOKafkaProducer

    # The client retries by itself (a new topic's leader, a broker restarting) and
    # says so at WARNING each time; a failed delivery is reported below.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    adapter = event_adapter()
    tally = Tally()
    producer = AIOKafkaProducer(
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
        request_timeout_ms=60_000,
        **settings.aiokafka(),
    )
    await producer.start()
    try:
        batches = Batches(producer, tally, reject)
        for line in lines:
            verdict = _verdict(adapter, names, line, now_us)
            if isinstance(verdict, Rejection):
                tally.rejected += 1
                reject(line, verdict)
            else:
                topic, key = verdict
                await batches.add(topic, key, line)
            if line.number % PROGRESS_EVERY == 0:
                progress(line)
        await batches.flush()
    finally:
        await producer.stop()
    return tally


def publish_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    outputs = check_outputs(
        {"--dead-letter": args.dead_letter}, inputs={"--input": args.input}, stdin=env.stdin
    )
    settings = settings_from(args)
    names = topics_from(args)
    now_us = env.now_us()
    source, size = open_input(args.input, env)
    done = {"bytes": 0}
    try:
        with (
            outputs.open(env) as files,
            Progress(size, enabled=env.stderr_isatty and not args.quiet, stream=env.stderr) as bar,
        ):
            dead_out = files.text("--dead-letter")

            def reject(line: Line, why: Rejection) -> None:
                if dead_out is not None:
                    letter = DeadLetter.of_line(line.number, why, line.data, line.size)
                    dead_out.write(dumps_dead_letter(letter) + "\n")
                elif not args.quiet:
                    env.warn(f"line {line.number} not sent: {why.message}")

            def progress(line: Line) -> None:
                bar.update(done["bytes"], line.number)

            def counted(lines: Iterator[Line]) -> Iterator[Line]:
                for line in lines:
                    done["bytes"] += line.size + 1
                    yield line

            tally = asyncio.run(
                _publish(settings, names, counted(read_lines(source)), now_us, reject, progress)
            )
            # Every line was read and judged: the dead letters are whole, whatever was delivered.
            files.commit()
    finally:
        if source is not env.stdin:
            source.close()
    delivered = sum(tally.sent.values()) - len(tally.failed)
    print(
        f"refmon: published {delivered} event(s) to {len(tally.sent)} topic(s); "
        f"{tally.rejected} invalid line(s) not sent; {len(tally.failed)} batch(es) failed",
        file=env.stderr,
    )
    for error in tally.failed[:5]:
        env.error(f"delivery failed: {error!r}")
    if tally.rejected and args.dead_letter is None and not args.quiet:
        env.warn(f"{tally.rejected} line(s) not sent; pass --dead-letter PATH to keep them")
    return ExitStatus.ERROR if tally.failed or tally.rejected else ExitStatus.OK
