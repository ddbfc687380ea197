"""`refmon worker`: judge events from Kafka with the same engine as `refmon run`."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from refmon.endpoint import add_address_option
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.kafka_options import KAFKA_FIELDS, add_kafka_options, kafka_given
from refmon.streams.kafka.settings import one_line
from refmon.timestamps import parse_cli_timestamp

if TYPE_CHECKING:
    from refmon.schemas.events import EventAdapter
    from refmon.streams.worker.health import HealthState
    from refmon.streams.worker.settings import WorkerSettings
    from refmon.streams.worker.statistics import WorkerMetrics


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "worker",
        help="run a Kafka worker: judge events, publish findings and alerts",
        description="Consumes every input topic, judges events with the same engine as "
        "`refmon run`, keeps each case's events in a compacted changelog, and publishes "
        "findings, per-force alerts and dead letters. Run several to share the load. "
        "Every flag has an environment variable (REFMON_ and the flag's name); a flag "
        "given wins over it.",
    )
    # Defaults live in the settings object (streams/worker/settings.py): a flag left out
    # is None here, and the environment or the default decides.
    p.add_argument(
        "--clock",
        choices=["wall", "event"],
        help="wall: time also passes with the wall clock (live); event: by event time alone "
        "(replays, backfills). Default wall, or REFMON_CLOCK",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="this worker's folder: its lock, and the source of its default instance id "
        "(default refmon-data, or REFMON_DATA_DIR); one per worker",
    )
    p.add_argument(
        "--instance-id",
        metavar="ID",
        help="Kafka static membership id, stable across restarts (default: from the host name "
        "and --data-dir, or REFMON_INSTANCE_ID)",
    )
    p.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="partitions of the shared topics, as created; checked against them at start "
        "(default: read from the topics, or REFMON_PARTITIONS)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve Prometheus metrics here (0: any free port), or REFMON_METRICS_PORT",
    )
    p.add_argument(
        "--session-timeout",
        type=float,
        metavar="SECONDS",
        help="how long the group waits for a silent worker before moving its partitions "
        "(default 15, or REFMON_SESSION_TIMEOUT)",
    )
    p.add_argument(
        "--stall-seconds",
        type=float,
        metavar="SECONDS",
        help="a partition with lag and no progress this long is stalled: logged, counted, "
        "resumed (default 30, or REFMON_STALL_SECONDS)",
    )
    p.add_argument(
        "--retire-after-days",
        type=int,
        metavar="DAYS",
        help="retire a finished case once everything about it is this many days older than "
        "the 365-day window: its findings are kept, its events leave the changelog "
        "(default 30, or REFMON_RETIRE_AFTER_DAYS)",
    )
    p.add_argument(
        "--snapshot-seconds",
        type=float,
        metavar="SECONDS",
        help="write each held partition's snapshot into --data-dir at most this often, so "
        "that a restart reads it and the changelog after it, not the whole changelog; "
        "0: never (default 60, or REFMON_SNAPSHOT_SECONDS)",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective settings (flags over environment over defaults, secrets "
        "masked) as JSON, each under its environment variable, and exit",
    )
    p.add_argument(
        "--delivery",
        choices=["exactly-once", "at-least-once"],
        help="exactly-once (the default): each input partition's batch, its outputs and its "
        "offsets in one Kafka transaction, readers use read_committed; at-least-once: outputs "
        "confirmed before offsets are committed, repeated after a crash (or REFMON_DELIVERY)",
    )
    p.add_argument("--retire-seconds", type=float, help=argparse.SUPPRESS)
    # Kept so that old command lines and manifests still start: state now lives in Kafka.
    p.add_argument("--store", choices=["rocksdb", "memory"], help=argparse.SUPPRESS)
    add_address_option(p)
    # Its default is REFMON_METRICS_ADDRESS or loopback already (shared with `refmon run`).
    p.add_argument("--tick-seconds", type=float, help=argparse.SUPPRESS)
    p.add_argument("--stats-seconds", type=float, help=argparse.SUPPRESS)
    p.add_argument("--test-clock-start", metavar="RFC3339", help=argparse.SUPPRESS)
    p.add_argument("--test-clock-speed", type=float, help=argparse.SUPPRESS)
    add_kafka_options(p)
    p.set_defaults(handler=worker_command)


NOT_SETTINGS = frozenset({"handler", "command", "print_config", "traceback", *KAFKA_FIELDS})
"""Namespace entries that are not worker settings (the Kafka flags set the connection)."""


def settings_of(args: argparse.Namespace) -> WorkerSettings:
    """Flags given win; the rest from REFMON_* or the defaults. One line on a bad value."""
    from refmon.streams.kafka.settings import KafkaSettings
    from refmon.streams.worker.settings import WorkerSettings, env_of, flag_of

    given = {
        k: v
        for k, v in vars(args).items()
        if k in WorkerSettings.model_fields and k not in NOT_SETTINGS and v is not None
    }
    try:
        return WorkerSettings(kafka=KafkaSettings(**kafka_given(args)), **given)
    except ValidationError as err:
        where = ".".join(str(p) for p in err.errors()[0]["loc"])
        named = f"{flag_of(where)} (or {env_of(where)})"
        raise UsageError(one_line(err, {where: named})) from None


@contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Hold the data folder for this worker alone: two sharing one would share an identity."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = (data_dir / "worker.lock").open("a+")
    except OSError as err:
        raise UsageError(f"cannot use --data-dir {data_dir}: {err.strerror}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            raise UsageError(
                f"--data-dir {data_dir} is in use by another worker ({owner}); "
                "give each worker its own"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield


def _wall_clock(start_us: int | None, speed: float) -> Callable[[], int]:
    """Microseconds now; a test clock when a start and a speed were given."""
    if start_us is None and speed == 1.0:
        return lambda: int(time.time() * 1_000_000)
    started = time.time()
    origin = start_us if start_us is not None else int(started * 1_000_000)
    return lambda: origin + int((time.time() - started) * speed * 1_000_000)


def worker_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    settings = settings_of(args)
    if args.print_config:
        print(json.dumps(settings.shown(), indent=2), file=env.stdout)
        return ExitStatus.OK
    try:
        import aiokafka  # noqa: F401
    except ImportError:
        raise UsageError("the worker needs the kafka extra: pip install 'refmon[kafka]'") from None
    from refmon import bootstrap
    from refmon.schemas import load_forces

    if settings.store is not None:
        env.warn("--store is no longer used: a worker's state is its changelog on Kafka")
    clock_start = (
        None
        if settings.test_clock_start is None
        else parse_cli_timestamp("--test-clock-start", settings.test_clock_start)
    )
    from refmon.streams.worker.health import HealthState

    with locked(settings.data_dir):
        health = HealthState()
        metrics: WorkerMetrics | None = None
        if settings.metrics_port is not None:
            from refmon.serve import start_metrics
            from refmon.streams.worker.statistics import HealthCollector, WorkerMetrics

            served, endpoint = start_metrics(
                settings.metrics_port,
                settings.metrics_address,
                lambda: health.verdict().to_json(),
            )
            served.registry.register(HealthCollector(health))
            metrics = WorkerMetrics(served, [f.code for f in load_forces()])
            print(f"refmon: metrics on {endpoint}", file=env.stderr, flush=True)
        settings = _fitted(settings, health, env)
        wiring = bootstrap.build()
        bootstrap.tune_gc()
        wall_clock = _wall_clock(clock_start, settings.test_clock_speed)
        return asyncio.run(_serve(settings, wiring.adapter, metrics, wall_clock, health))


STARTUP_RETRY_S = 2.0


def _fitted(settings: WorkerSettings, health: HealthState, env: Environment) -> WorkerSettings:
    """The settings with the partition count the topics have; waits for the brokers, and
    refuses (exit 2) topics that are missing or a count that does not match them."""
    from kafka.errors import KafkaError, RetriableError

    from refmon.streams.worker.startup import (
        StartupError,
        partition_count,
        partitioned_topics,
        read_partitions,
    )

    names = partitioned_topics(settings.topics)
    waiting = False
    while True:
        health.beat()  # waiting for the brokers is being alive, not ready
        try:
            found = read_partitions(settings.kafka, names)
            break
        except RetriableError as err:  # no broker answers yet (kafka-python waits 30 s)
            if not waiting:
                env.warn(f"waiting for the Kafka brokers at {settings.kafka.bootstrap}: {err}")
                waiting = True
            time.sleep(STARTUP_RETRY_S)
        except KafkaError as err:  # refused credentials, no permission: waiting will not help
            raise UsageError(f"cannot read the topics from Kafka: {err!r}") from None
    try:
        return settings.with_partitions(partition_count(settings.partitions, found))
    except StartupError as err:
        raise UsageError(str(err)) from None


async def _serve(
    settings: WorkerSettings,
    adapter: EventAdapter,
    metrics: WorkerMetrics | None,
    wall_clock: Callable[[], int],
    health: HealthState,
) -> ExitStatus:
    from refmon import bootstrap
    from refmon.streams.worker.app import Worker

    worker = Worker(settings, bootstrap.new_engine, adapter, metrics, wall_clock, health=health)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        worker.stop()
        # Stopping waits for writes in flight, each within a bound; should they all run
        # to their bounds, the process ends anyway: exactly once survives any exit.
        loop.call_later(STOP_BOUND_S, _stopped_late)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    await worker.run()
    return ExitStatus.OK


STOP_BOUND_S = 9.0
"""How long a worker may take to stop once asked (a container runtime waits 10 s)."""


def _stopped_late() -> None:
    import logging

    from refmon import termination

    logging.getLogger("refmon.worker").error(
        "not stopped within %.0f s of being asked; exiting now", STOP_BOUND_S
    )
    termination.exit_now(ExitStatus.TERMINATED)
