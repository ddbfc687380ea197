"""`refmon outlier record`: write one outlier action event (docs/contract.md section 14).

The outlier's current state comes from a report (--report); an action that state
does not await is refused, since the engine would only ignore it. The event goes
to a JSON Lines file (appended) or, with --kafka, through `refmon publish`.
"""

from __future__ import annotations

import argparse
import io
import json
import uuid
from typing import Any

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.kafka_options import add_kafka_options
from refmon.oversight import OUTCOMES, REASONS, action_name, read_outliers, refusal
from refmon.schemas import event_adapter
from refmon.schemas.types import parse_timestamp
from refmon.streams.engine.timeutil import format_utc, to_micros
from refmon.timestamps import parse_cli_timestamp


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "outlier",
        help="record an action on an outlier (writes one well-formed event)",
        description="Oversight actions on one outlier.",
    )
    actions = p.add_subparsers(dest="outlier_action", metavar="ACTION", required=True)
    r = actions.add_parser(
        "record",
        help="write one outlier action event, refusing one its state does not await",
        description="Writes one outlier action event, with its own unique event_id, to a "
        "JSON Lines file (appended) or to Kafka. The outlier's current state is read from "
        "--report; an action that state does not await is refused.",
    )
    r.add_argument("outlier_id", metavar="OUTLIER_ID", help="e.g. compliance-2025-03")
    r.add_argument(
        "action",
        metavar="ACTION",
        help="checked, notified, responded, reviewed, action_plan or closed "
        "(with or without the outlier. prefix)",
    )
    detail = r.add_mutually_exclusive_group()
    detail.add_argument(
        "--outcome", help="checked: confirmed|data_error; reviewed: explained|confirmed"
    )
    detail.add_argument("--reason", choices=REASONS, help="closed: why")
    r.add_argument("--force", metavar="CODE", help="the force (needed when several share the id)")
    r.add_argument("--at", metavar="RFC3339", help="when it happened (default: now)")
    r.add_argument("--report", required=True, metavar="PATH", help="a current report JSON")
    r.add_argument("--event-id", metavar="ID", help="the event id (default: a new unique one)")
    where = r.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--output", metavar="PATH|-", help="append the event to this JSON Lines file"
    )
    where.add_argument("--kafka", action="store_true", help="publish it, as `refmon publish` does")
    add_kafka_options(r)
    r.set_defaults(handler=record_command)


def _outlier(args: argparse.Namespace) -> dict[str, Any]:
    found = [o for o in read_outliers(args.report) if o.get("outlier_id") == args.outlier_id]
    if args.force is not None:
        found = [o for o in found if o.get("force") == args.force]
    if not found:
        whose = "" if args.force is None else f" of {args.force}"
        raise UsageError(f"no outlier {args.outlier_id}{whose} in {args.report}")
    if len(found) > 1:
        forces = ", ".join(sorted(str(o.get("force")) for o in found))
        raise UsageError(f"outlier {args.outlier_id} exists for {forces}: pass --force")
    return found[0]


def _payload(action: str, args: argparse.Namespace) -> dict[str, str]:
    if action in OUTCOMES:
        if args.outcome not in OUTCOMES[action]:
            raise UsageError(f"{action} needs --outcome {' or '.join(OUTCOMES[action])}")
        return {"outcome": args.outcome}
    if action == "outlier.closed":
        if args.reason is None:
            raise UsageError(f"outlier.closed needs --reason ({', '.join(REASONS)})")
        return {"reason": args.reason}
    if args.outcome is not None or args.reason is not None:
        raise UsageError(f"{action} takes neither --outcome nor --reason")
    return {}


def build_event(args: argparse.Namespace, env: Environment) -> dict[str, Any]:
    action = action_name(args.action)
    payload = _payload(action, args)
    outlier = _outlier(args)
    why = refusal(outlier, action)
    if why is not None:
        raise UsageError(f"refused: {why}")
    at = env.now_us() if args.at is None else parse_cli_timestamp("--at", args.at, env.now_us())
    if at <= to_micros(parse_timestamp(str(outlier["opened_at"]))):
        # The engine ignores an action at or before the opening: refuse it here.
        raise UsageError(f"--at must be after the outlier opened ({outlier['opened_at']})")
    occurred_at = format_utc(at)
    event = {
        "schema_version": 1,
        "event_id": args.event_id or f"outlier-{uuid.uuid4().hex}",
        "event_type": action,
        "force": outlier["force"],
        "case_id": outlier["outlier_id"],
        "occurred_at": occurred_at,
        "payload": payload,
    }
    # Well-formed by the contract's own models, or not written at all.
    try:
        event_adapter().validate_python(event)
    except ValueError as err:
        raise UsageError(f"the event would be invalid: {err}") from None
    return event


def record_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    event = build_event(args, env)
    line = json.dumps(event, ensure_ascii=False)
    if args.kafka:
        from refmon.commands.publish import publish_command

        relay = argparse.Namespace(**vars(args))
        relay.input, relay.dead_letter, relay.quiet = "-", None, True
        single = Environment(
            stdin=io.BytesIO(line.encode() + b"\n"),
            stdout=env.stdout,
            stderr=env.stderr,
            stderr_isatty=False,
            wall_clock=env.wall_clock,
        )
        return publish_command(relay, single)
    if args.output == "-":
        env.stdout.write(line + "\n")
    else:
        try:
            with open(args.output, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror}") from None
    print(
        f"refmon: recorded {event['event_type']} for {event['force']} {event['case_id']} "
        f"({event['event_id']})",
        file=env.stderr,
    )
    return ExitStatus.OK
