"""`refmon worker`: judge events from Kafka with the same engine as `refmon run`."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from refmon.endpoint import add_address_option
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.timestamps import parse_cli_timestamp

if TYPE_CHECKING:
    from refmon.schemas.events import EventAdapter
    from refmon.streams.worker.config import WorkerConfig
    from refmon.streams.worker.statistics import WorkerMetrics


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "worker",
        help="run a Kafka worker: judge events, publish findings and alerts",
        description="Consumes every input topic, judges events with the same engine as "
        "`refmon run`, keeps each case's events in a compacted changelog, and publishes "
        "findings, per-force alerts and dead letters. Run several to share the load.",
    )
    p.add_argument(
        "--clock",
        choices=["wall", "event"],
        default=os.environ.get("REFMON_CLOCK", "wall"),
        help="wall: time also passes with the wall clock (live); event: by event time alone "
        "(replays, backfills). Default wall, or REFMON_CLOCK",
    )
    p.add_argument(
        "--data-dir",
        default=os.environ.get("REFMON_DATA_DIR", "refmon-data"),
        metavar="DIR",
        help="this worker's folder: its lock, and the source of its default instance id "
        "(default refmon-data, or REFMON_DATA_DIR); one per worker",
    )
    p.add_argument(
        "--instance-id",
        default=os.environ.get("REFMON_INSTANCE_ID"),
        metavar="ID",
        help="Kafka static membership id, stable across restarts (default: from the host name "
        "and --data-dir, or REFMON_INSTANCE_ID)",
    )
    p.add_argument(
        "--partitions",
        type=int,
        default=int(os.environ.get("REFMON_PARTITIONS", "6")),
        metavar="N",
        help="partitions of the shared topics, as created (default 6)",
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
        default=15.0,
        metavar="SECONDS",
        help="how long the group waits for a silent worker before moving its partitions "
        "(default 15)",
    )
    p.add_argument(
        "--stall-seconds",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a partition with lag and no progress this long is stalled: logged, counted, "
        "resumed (default 30)",
    )
    p.add_argument(
        "--retire-after-days",
        type=int,
        default=int(os.environ.get("REFMON_RETIRE_AFTER_DAYS", "30")),
        metavar="DAYS",
        help="retire a finished case once everything about it is this many days older than "
        "the 365-day window: its findings are kept, its events leave the changelog "
        "(default 30, or REFMON_RETIRE_AFTER_DAYS)",
    )
    p.add_argument("--retire-seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    # Kept so that old command lines and manifests still start: state now lives in Kafka.
    p.add_argument("--store", choices=["rocksdb", "memory"], help=argparse.SUPPRESS)
    add_address_option(p)
    p.add_argument("--tick-seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--stats-seconds", type=float, default=15.0, help=argparse.SUPPRESS)
    p.add_argument("--test-clock-start", metavar="RFC3339", help=argparse.SUPPRESS)
    p.add_argument("--test-clock-speed", type=float, default=1.0, help=argparse.SUPPRESS)
    add_kafka_options(p)
    p.set_defaults(handler=worker_command)


def _env_port() -> int | None:
    value = os.environ.get("REFMON_METRICS_PORT")
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"REFMON_METRICS_PORT must be a port number, not {value!r}") from None


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
    try:
        import aiokafka  # noqa: F401
    except ImportError:
        raise UsageError("the worker needs the kafka extra: pip install 'refmon[kafka]'") from None
    from refmon import bootstrap
    from refmon.schemas import load_forces
    from refmon.streams.kafka.topics import WATCHDOG
    from refmon.streams.worker.config import WorkerConfig, default_instance_id

    if args.partitions < 1 or args.tick_seconds <= 0 or args.test_clock_speed <= 0:
        raise UsageError("--partitions, --tick-seconds and --test-clock-speed must be positive")
    if args.retire_after_days < 0 or args.retire_seconds <= 0:
        raise UsageError("--retire-after-days must be 0 or more")
    if args.session_timeout < 6 or args.stall_seconds <= 0:
        raise UsageError("--session-timeout must be at least 6 and --stall-seconds positive")
    if args.store is not None:
        env.warn("--store is no longer used: a worker's state is its changelog on Kafka")
    data_dir = Path(args.data_dir)
    codes = [f.code for f in load_forces()]
    config = WorkerConfig(
        kafka=settings_from(args),
        topics=topics_from(args),
        data_dir=data_dir,
        sources=(*codes, WATCHDOG),
        instance_id=args.instance_id or default_instance_id(data_dir),
        clock=args.clock,
        partitions=args.partitions,
        tick_seconds=args.tick_seconds,
        stats_seconds=args.stats_seconds,
        session_timeout_s=args.session_timeout,
        stall_seconds=args.stall_seconds,
        retire_after_days=args.retire_after_days,
        retire_seconds=args.retire_seconds,
        clock_start_us=None
        if args.test_clock_start is None
        else parse_cli_timestamp("--test-clock-start", args.test_clock_start),
        clock_speed=args.test_clock_speed,
        metrics_port=args.metrics_port if args.metrics_port is not None else _env_port(),
    )
    from refmon.streams.worker import logs

    logs.configure()
    with locked(data_dir):
        metrics: WorkerMetrics | None = None
        if config.metrics_port is not None:
            from refmon.serve import start_metrics
            from refmon.streams.worker.statistics import WorkerMetrics

            served, endpoint = start_metrics(config.metrics_port, args.metrics_address)
            metrics = WorkerMetrics(served, codes)
            print(f"refmon: metrics on {endpoint}", file=env.stderr, flush=True)
        wiring = bootstrap.build()
        bootstrap.tune_gc()
        return asyncio.run(_serve(config, wiring.adapter, metrics, env))


async def _serve(
    config: WorkerConfig,
    adapter: EventAdapter,
    metrics: WorkerMetrics | None,
    env: Environment,
) -> ExitStatus:
    from refmon import bootstrap
    from refmon.streams.worker.app import Worker

    worker = Worker(
        config,
        bootstrap.new_engine,
        adapter,
        metrics,
        _wall_clock(config.clock_start_us, config.clock_speed),
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop)
    await worker.run()
    return ExitStatus.OK
