"""`refmon worker`: a Faust worker judging events from Kafka with the same engine."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from refmon.endpoint import add_address_option
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.timestamps import parse_cli_timestamp


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "worker",
        help="run a Kafka worker (Faust): judge events, publish findings and alerts",
        description="Consumes every input topic, judges events with the same engine as "
        "`refmon run`, keeps case state in a changelog-backed table and publishes findings, "
        "per-force alerts and dead letters. Run several to share the load.",
    )
    p.add_argument(
        "--clock",
        choices=["wall", "event"],
        default=os.environ.get("REFMON_CLOCK", "wall"),
        help="wall: time also passes with the wall clock (live); event: by event time alone "
        "(replays, backfills). Default wall, or REFMON_CLOCK",
    )
    p.add_argument(
        "--store",
        choices=["rocksdb", "memory"],
        default=os.environ.get("REFMON_STORE", "rocksdb"),
        help="table store (default rocksdb, or REFMON_STORE)",
    )
    p.add_argument(
        "--data-dir",
        default=os.environ.get("REFMON_DATA_DIR", "refmon-data"),
        metavar="DIR",
        help="table state; one per worker on a host (default refmon-data, or REFMON_DATA_DIR)",
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
    add_address_option(p)
    p.add_argument("--tick-seconds", type=float, default=1.0, help=argparse.SUPPRESS)
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


def worker_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    try:
        import faust  # noqa: F401
    except ImportError:
        raise UsageError("the worker needs the kafka extra: pip install 'refmon[kafka]'") from None
    from refmon import bootstrap
    from refmon.streams.worker.app import build_app
    from refmon.streams.worker.config import WorkerConfig
    from refmon.streams.worker.core import WorkerCore

    if args.partitions < 1 or args.tick_seconds <= 0 or args.test_clock_speed <= 0:
        raise UsageError("--partitions, --tick-seconds and --test-clock-speed must be positive")
    config = WorkerConfig(
        kafka=settings_from(args),
        topics=topics_from(args),
        data_dir=Path(args.data_dir),
        store=args.store,
        clock=args.clock,
        partitions=args.partitions,
        tick_seconds=args.tick_seconds,
        clock_start_us=None
        if args.test_clock_start is None
        else parse_cli_timestamp("--test-clock-start", args.test_clock_start),
        clock_speed=args.test_clock_speed,
        metrics_port=args.metrics_port if args.metrics_port is not None else _env_port(),
    )
    metrics = None
    if config.metrics_port is not None:
        from refmon.serve import start_metrics

        metrics, endpoint = start_metrics(config.metrics_port, args.metrics_address)
        print(f"refmon: metrics on {endpoint}", file=env.stderr, flush=True)
    wiring = bootstrap.build()
    core = WorkerCore(lambda: bootstrap.build().engine, wiring.adapter, config.topics)
    app = build_app(config, core, metrics)
    import faust as faust_module

    worker = faust_module.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    return ExitStatus.OK
