"""`refmon report`: the report and findings from the Kafka workers' state.

The workers' state is their case table; its changelog topic is what they
recover from, and what this reads. The same engine and encoders as
`refmon run` make the two paths comparable byte for byte.
"""

from __future__ import annotations

import argparse

from refmon import bootstrap
from refmon.commands.run import check_window_days, peer_groups_option
from refmon.environment import Environment, ExitStatus
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.outputs import check_outputs
from refmon.streams.wire.encode import dumps_finding, dumps_report
from refmon.timestamps import parse_cli_timestamp


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "report",
        help="the current report and findings from the Kafka workers' state",
        description="Writes the report and findings in exactly the formats of `refmon run`.",
    )
    p.add_argument(
        "--as-of",
        metavar="RFC3339",
        help="advance the clock to this time (never back); default: the time the workers' "
        "counts are as of when they run on the wall clock, else the latest event",
    )
    p.add_argument(
        "--window-days", type=int, default=365, metavar="N", help="statistics window (default 365)"
    )
    p.add_argument("--report", default="-", metavar="PATH|-", help="default: stdout")
    p.add_argument("--findings", metavar="PATH|-", help="every finding's state (JSON Lines)")
    # Accepted like every command's -q: the report shows no progress to silence.
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output (there is none)")
    p.add_argument(
        "--peer-groups",
        metavar="FILE",
        help="compare each force with these groups (CSV `force,group`; default: the police "
        "regions)",
    )
    add_kafka_options(p)
    p.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from refmon.streams.kafka.state import replay
    from refmon.streams.worker import reader, recovery
    from refmon.streams.worker.statistics import workers_clock

    check_window_days(args.window_days)
    as_of = None if args.as_of is None else parse_cli_timestamp("--as-of", args.as_of)
    outputs = check_outputs({"--report": args.report, "--findings": args.findings})
    groups = peer_groups_option(args.peer_groups)
    settings = settings_from(args)
    names = topics_from(args)
    wiring = bootstrap.build(peer_groups=groups)
    stored = recovery.stored_state(settings, names, wiring.adapter)
    # Dead letters are keyed by where the input came from: a re-delivery is one.
    invalid = len(reader.read_topic(settings, names.dead_letter))
    for _ in replay(wiring.engine, stored):
        pass
    if as_of is None:
        # Workers on the wall clock count deadlines against it: report as of the time their
        # counts (and metrics) are as of, not the latest event (docs/operations.md).
        as_of = workers_clock(reader.read_topic(settings, names.force_counts_changelog))
    if as_of is not None:
        wiring.engine.advance(as_of)
    report = wiring.engine.report(args.window_days, invalid)
    with outputs.open(env) as files:
        report_out, findings_out = files.text("--report"), files.text("--findings")
        if report_out is not None:
            report_out.write(dumps_report(report))
        if findings_out is not None:
            for finding in wiring.engine.findings():
                findings_out.write(dumps_finding(finding))
        files.commit()
    return ExitStatus.OK
