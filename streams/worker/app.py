"""The Faust app: thin agents that move bytes between Kafka and the worker core.

Built by `build_app`, never at import. Agent concurrency stays 1: with more,
Faust can commit an offset past a message still in flight (faust-streaming
issue 606). Delivery is at-least-once and the core is idempotent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import faust
from refmon.schemas import load_forces
from refmon.streams.decode import DeadLetter
from refmon.streams.kafka.topics import CASES_TABLE, WATCHDOG
from refmon.streams.metrics import RefmonMetrics
from refmon.streams.worker.config import WorkerConfig
from refmon.streams.worker.core import Forward, Outbound, WorkerCore, source_id
from refmon.streams.worker.sequence import OffsetSequence
from refmon.streams.worker.table import DurableTable

log = logging.getLogger("refmon.worker")
RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
REPORT_EVERY_SECONDS = 5.0
ACK_BATCH = 200
WINDOW_DAYS = 365
"""The cross-force window in days: `refmon run`'s default, which `refmon report` also uses."""


def _faust_settings(config: WorkerConfig) -> dict[str, Any]:
    kafka = config.kafka
    settings: dict[str, Any] = {
        "broker": ";".join(f"kafka://{b}" for b in kafka.bootstrap.split(",")),
        "store": "rocksdb://" if config.store == "rocksdb" else "memory://",
        "datadir": str(config.data_dir),
        "web_enabled": False,
        "autodiscover": False,
        "topic_partitions": config.partitions,
        "consumer_auto_offset_reset": "earliest",
        "processing_guarantee": "at_least_once",
        "broker_commit_interval": 1.0,
        # A rebuild after a rebalance holds the loop for a few seconds.
        "broker_session_timeout": 20.0,
        "broker_heartbeat_interval": 3.0,
        "producer_acks": -1,
        # The judge acks by hand once writes are durable; on shutdown, whatever is
        # not acked yet is simply delivered again to the next owner.
        "stream_wait_empty": False,
        "Table": DurableTable,
    }
    if kafka.protocol == "SASL_SSL":
        settings["broker_credentials"] = faust.SASLCredentials(
            username=kafka.username,
            password=kafka.password,
            ssl_context=kafka.ssl_context(),
            mechanism="SCRAM-SHA-512",
        )
    return settings


def wall_clock(config: WorkerConfig) -> Callable[[], int]:
    """Microseconds now; a test clock when a start and speed were given."""
    started = time.time()
    if config.clock_start_us is None and config.clock_speed == 1.0:
        return lambda: int(time.time() * 1_000_000)
    origin = (
        config.clock_start_us if config.clock_start_us is not None else int(started * 1_000_000)
    )
    return lambda: origin + int((time.time() - started) * config.clock_speed * 1_000_000)


def build_app(config: WorkerConfig, core: WorkerCore, metrics: RefmonMetrics | None) -> Any:
    names = config.topics
    # Faust's decorators and signals are untyped: the shell holds the app as Any,
    # and everything it calls into (the core) is typed.
    app: Any = faust.App(names.app_id, **_faust_settings(config))
    codes = [f.code for f in load_forces()]
    inputs = app.topic(*[names.input(c) for c in [*codes, WATCHDOG]], **RAW)
    by_force = app.topic(names.by_force, partitions=config.partitions, **RAW)
    table_options = {"driver": "rocksdict"} if config.store == "rocksdb" else None
    cases: Any = app.Table(
        CASES_TABLE,
        default=None,
        partitions=config.partitions,
        options=table_options,
    )
    shared = SharedCounts(config)
    rebuild = {"needed": True}
    now_us = wall_clock(config)
    last_report = {"at": 0.0}

    async def send(messages: list[Outbound]) -> None:
        for m in messages:
            await app.send(
                m.topic, key=m.key, value=m.value, key_serializer="raw", value_serializer="raw"
            )

    async def ensure_rebuilt() -> None:
        if not rebuild["needed"]:
            return
        rebuild["needed"] = False
        assignment = app.consumer.assignment() if app.consumer else set()
        mine = {tp.partition for tp in assignment if tp.topic == names.by_force}
        started = time.monotonic()
        again = core.rebuild(((str(k), v) for k, v in cases.items() if v), mine)
        log.warning(
            "rebuilt state for partitions %s: %d cases in %.1f s",
            sorted(mine),
            core.engine.case_count(),
            time.monotonic() - started,
        )
        await send(again)

    async def on_recover() -> None:
        rebuild["needed"] = True
        rebuild["recovered"] = True

    sequence = OffsetSequence()

    async def on_assigned(sender: Any, assigned: Any, **_: Any) -> None:
        sequence.reset()
        rebuild["needed"] = True
        rebuild["recovered"] = False

    async def on_revoked(sender: Any, revoked: Any, **_: Any) -> None:
        # The next owner recovers from the changelog once the rebalance ends:
        # every write made here must be on the broker before it does.
        await cases.confirmed()

    # Next offset to process per (topic, partition), for the consumer-lag metric.
    processed: dict[tuple[str, int], int] = {}

    async def intake(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            processed[(message.topic, message.partition)] = message.offset + 1
            result = core.intake(message.topic, message.partition, message.offset, event.value)
            if isinstance(result, Forward):
                await by_force.send(key=result.key, value=result.value)
            else:
                await _send_dead_letter(app, names.dead_letter, result)

    unacked: list[Any] = []
    # The timer and the agent both ack. Unserialised, a later batch whose writes
    # landed first was acked before an earlier one still waiting, and Faust
    # commits past a single unacked offset at the head (its gap check is off
    # by one), so that event was lost.
    acking = asyncio.Lock()

    async def acknowledge() -> None:
        """Ack events only once their table writes are on the broker.

        Without this a committed offset can outrun its changelog write: the
        event is then lost to the worker that takes the partition over (seen
        when a worker stopped during a rebalance, and under CPU load, where
        Faust's own flush returns with writes still queued).
        """
        async with acking:
            if unacked:
                batch = list(unacked)
                unacked.clear()
                await cases.confirmed()
                await app.producer.flush()  # the findings and alerts sent with them
                for event in batch:
                    event.ack()

    async def judge(stream: Any) -> None:
        async for event in stream.noack().events():
            await ensure_rebuilt()
            message = event.message
            skipped = sequence.gap(message.partition, message.offset)
            if skipped is not None:
                log.error(
                    "%s[%d]: offsets %d to %d were dropped by Faust before the judge; "
                    "replay them (see the runbook)",
                    message.topic,
                    message.partition,
                    *skipped,
                )
            processed[(message.topic, message.partition)] = message.offset + 1
            prepared = core.prepare(event.value)
            entry, messages = core.judge(event.message.partition, prepared, cases.get(prepared.key))
            if entry is not None:
                cases[prepared.key] = entry  # Faust tables need the value assigned back
            await send(messages)
            unacked.append(event)
            if len(unacked) >= ACK_BATCH:
                await acknowledge()

    consumed = {names.by_force, *(names.input(c) for c in [*codes, WATCHDOG])}

    async def tick() -> None:
        await acknowledge()
        await ensure_rebuilt()
        if rebuild.get("recovered"):
            resume_stalled(app, consumed)
        if config.clock == "wall":
            await send(core.tick(now_us()))
        if time.monotonic() - last_report["at"] >= REPORT_EVERY_SECONDS:
            last_report["at"] = time.monotonic()
            await send(core.force_counts(WINDOW_DAYS))
            if metrics is not None:
                await shared.refresh()
                rows, national = core.national_rows(shared.values.items(), codes, core.engine)
                metrics.sync_rows(rows, national)
                metrics.sync_delays(core.engine.referral_delays(WINDOW_DAYS))
                metrics.sync_lag(await consumer_lag(app, consumed, processed))
        if metrics is not None:
            c = core.counts
            metrics.sync_counts(c.events, c.rejected, c.duplicates, core.engine)

    # Registered by calls rather than decorators, which Faust leaves untyped.
    cases.on_recover(on_recover)
    app.on_partitions_assigned.connect(on_assigned)
    app.on_partitions_revoked.connect(on_revoked)
    app.agent(inputs, concurrency=1)(intake)
    app.agent(by_force, concurrency=1)(judge)
    app.timer(interval=config.tick_seconds)(tick)
    return app


class SharedCounts:
    """Every force's latest counts, from the compacted topic all workers publish to.

    Read with a plain aiokafka consumer (no group, the one partition, from the
    start) so that every worker sees every force, whoever holds it.
    """

    def __init__(self, config: WorkerConfig) -> None:
        self._config = config
        self._consumer: Any = None
        self.values: dict[str, dict[str, int]] = {}

    async def refresh(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        if self._consumer is None:
            kafka = self._config.kafka
            options: dict[str, Any] = {"bootstrap_servers": kafka.bootstrap.split(",")}
            if kafka.protocol == "SASL_SSL":
                options.update(
                    security_protocol="SASL_SSL",
                    sasl_mechanism="SCRAM-SHA-512",
                    sasl_plain_username=kafka.username,
                    sasl_plain_password=kafka.password,
                    ssl_context=kafka.ssl_context(),
                )
            consumer = AIOKafkaConsumer(enable_auto_commit=False, **options)
            await consumer.start()
            partition = TopicPartition(self._config.topics.force_counts_changelog, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            self._consumer = consumer
        batches = await self._consumer.getmany(timeout_ms=200)
        for records in batches.values():
            for record in records:
                self.values[json.loads(record.key)] = (
                    json.loads(record.value) if record.value else {}
                )


async def consumer_lag(
    app: Any, topics: set[str], processed: dict[tuple[str, int], int]
) -> dict[tuple[str, int], int]:
    """Per assigned partition, messages between this worker's position and the end."""
    consumer = app.consumer
    if consumer is None:
        return {}
    assigned = [tp for tp in consumer.assignment() if tp.topic in topics]
    if not assigned:
        return {}
    ends = await consumer.highwaters(*assigned)
    lags: dict[tuple[str, int], int] = {}
    for tp in assigned:
        end = ends.get(tp)
        if end is None:
            continue
        done = processed.get((tp.topic, tp.partition))
        if done is None:
            done = await consumer.position(tp)
        if done is not None:
            lags[(tp.topic, tp.partition)] = max(0, end - done)
    return lags


def resume_stalled(app: Any, topics: set[str]) -> None:
    """Resume assigned partitions that Faust left paused after a rebalance.

    Seen in tests: after a worker left, the survivor sometimes never resumed
    some of the partitions it took over, and they stalled with lag forever
    (the family of faust-streaming rebalance bugs). This reaches into the
    consumer's own sets, so it is checked by the rebalance test.
    """
    consumer = app.consumer
    if consumer is None:
        return
    assigned = {tp for tp in consumer.assignment() if tp.topic in topics}
    active = consumer._active_partitions or set()
    stalled = assigned - active
    if stalled:
        log.warning("resuming %d partition(s) left inactive: %s", len(stalled), sorted(stalled))
        consumer.resume_partitions(stalled)


async def _send_dead_letter(app: Any, topic: str, letter: DeadLetter) -> None:
    where = letter.source
    key = source_id(str(where["topic"]), int(where["partition"]), int(where["offset"])).encode()
    value = json.dumps(letter.to_json(), separators=(",", ":")).encode()
    await app.send(topic, key=key, value=value, key_serializer="raw", value_serializer="raw")
