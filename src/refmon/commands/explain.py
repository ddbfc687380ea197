"""`refmon explain`: one case's timeline, and why each of its findings opened and resolved."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from refmon import bootstrap
from refmon.commands.run import _ruleset, open_input
from refmon.environment import Environment, ExitStatus, UsageError
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.schemas import EventAdapter
from refmon.schemas.rejections import Rejection
from refmon.streams.engine import Event
from refmon.streams.engine.engine import clock_at, source_scope
from refmon.streams.engine.explain import CaseView, Explanation, Step, explain, linked_ids
from refmon.streams.engine.timeutil import format_utc, local_label
from refmon.streams.kafka.settings import ENV_BOOTSTRAP
from refmon.streams.runner.lines import read_lines
from refmon.streams.time_range import out_of_range
from refmon.streams.wire.decode import decode
from refmon.streams.wire.translate import to_engine_event
from refmon.terminal import safe, safe_lines
from refmon.timestamps import parse_cli_timestamp

TIMES = frozenset({"recorded_at", "duty_arose_at", "deadline", "referral_at", "closed_at"})


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "explain",
        help="one case's timeline: what each event changed, why each finding opened and resolved",
        description="Replays one case's events (and those of the cases it links to) in event "
        "time and shows what each changed: the facts, the criteria met, the duty, the deadline, "
        "the referral, the watchdog's decision, and the findings. No other case's data is "
        "shown; a linked case is named by its id only.",
    )
    p.add_argument(
        "--input",
        metavar="PATH|-",
        help="events (JSON Lines); - for stdin. Without it: the Kafka workers' case changelog",
    )
    p.add_argument("--case", required=True, metavar="FORCE/CASE_ID", help="e.g. DUR/c0070000042")
    p.add_argument(
        "--as-of",
        metavar="RFC3339",
        help="judge as of this time (default: the latest event time in the input, as refmon run)",
    )
    p.add_argument("--ruleset", metavar="PATH", help="judge by this ruleset file (a what-if)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_kafka_options(p)
    p.set_defaults(handler=explain_command)


def _events(
    args: argparse.Namespace, env: Environment, adapter: EventAdapter, force: str
) -> tuple[list[tuple[int, Event]], int | None, int]:
    """This force's valid events with their line numbers, the clock they reach, and when
    they were received.

    A repeated id from the same source with other content is dropped as `refmon run`
    would reject it: the first arrival wins, across every case. As there, the clock
    reaches no further than when the input was read (docs/contract.md section 13).
    """
    received_at = env.now_us()
    kept: list[tuple[int, Event]] = []
    seen: dict[tuple[str, str], int] = {}
    latest: int | None = None
    with ExitStack() as stack:
        source, _ = open_input(args.input, env)
        if source is not env.stdin:
            stack.callback(source.close)
        for line in read_lines(source):
            if line.data is None:
                continue
            decoded = decode(adapter, line.data)
            if isinstance(decoded, Rejection):
                continue
            event = to_engine_event(decoded)
            if out_of_range("occurred_at", event.occurred_at_us, received_at) is not None:
                continue
            key = (source_scope(event), event.event_id)
            if seen.setdefault(key, hash(event)) != hash(event):
                continue
            reached = clock_at(event, received_at)
            latest = reached if latest is None else max(latest, reached)
            if event.force == force:
                kept.append((line.number, event))
    return kept, latest, received_at


def _changelog(
    args: argparse.Namespace, adapter: EventAdapter, force: str
) -> tuple[list[tuple[int, Event]], int | None, dict[int, str], dict[int, int]]:
    """This force's deliveries in the workers' case changelog, as `refmon report` reads it.

    Each is labelled by where it entered (`DUR[0]@41`). Arrival order across
    sources is not kept there, so no event is marked as out of order.
    """
    from refmon.streams.kafka.state import replay_order
    from refmon.streams.worker.recovery import stored_state

    settings, names = settings_from(args), topics_from(args)
    stored = stored_state(settings, names, adapter)
    retired = {(f.retired.force, f.retired.case_id) for f in stored.all_folded()}
    if (force, args.case.split("/", 1)[-1]) in retired:
        raise UsageError(
            f"{args.case} was retired by the workers (quiet for longer than the window): "
            "its events have left the changelog; explain it from the input topics' history"
        )
    held = sorted(stored.deliveries, key=replay_order)
    # The clock as `refmon report` replays it: each event capped at when it was received.
    latest = max((clock_at(d.event, d.received_at_us) for d in held), default=None)
    kept = [(n, d.event) for n, d in enumerate(held) if d.event.force == force]
    labels = {
        n: f"{d.source.name}[{d.source.partition}]@{d.source.offset}" for n, d in enumerate(held)
    }
    received = {n: d.received_at_us for n, d in enumerate(held) if d.received_at_us is not None}
    return kept, latest, labels, received


def explain_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    force, _, case_id = args.case.partition("/")
    if not force or not case_id:
        raise UsageError("--case takes FORCE/CASE_ID, e.g. DUR/c0070000042")
    as_of = None if args.as_of is None else parse_cli_timestamp("--as-of", args.as_of, env.now_us())
    wiring = bootstrap.build(_ruleset(args.ruleset))
    if force not in wiring.engine.forces:
        raise UsageError(f"--case: unknown force {force[:64]!r}")
    if args.input is None and not (args.bootstrap_server or os.environ.get(ENV_BOOTSTRAP)):
        raise UsageError("give --input PATH|- (events), or --bootstrap-server (the Kafka state)")
    if args.input is not None:
        held, latest, received_at = _events(args, env, wiring.adapter, force)
        labels = {n: f"line {n}" for n, _ in held}
        received = dict.fromkeys(labels, received_at)
    else:
        held, latest, labels, received = _changelog(args, wiring.adapter, force)
    mine = [e for _, e in held if e.case_id == case_id]
    if not mine:
        raise UsageError(f"--case {safe(args.case[:80])}: no valid event of this case in the input")
    linked = linked_ids(mine, case_id)
    chosen = [(n, e) for n, e in held if e.case_id == case_id or e.case_id in linked]
    clock = latest if as_of is None else max(as_of, latest or as_of)
    story = explain(wiring.engine, force, case_id, chosen, clock, received)
    if args.json:
        body = as_json(story, labels)
        env.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(as_text(story, wiring.engine.ruleset.zone, labels))
    return ExitStatus.OK


def _utc(value: Any) -> Any:
    return format_utc(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _json_value(name: str, value: Any) -> Any:
    if name in TIMES:
        return _utc(value)
    return list(value) if isinstance(value, tuple) else value


def _finding_json(change: Any) -> dict[str, Any]:
    f = change.finding
    return {
        "change": change.change,
        "kind": f.kind,
        "finding_id": f.finding_id,
        "status": f.status,
        "detected_at": format_utc(f.detected_at),
        "summary": f.summary,
        "resolves": f.resolves,
    }


def _step_json(step: Step, labels: dict[int, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": step.kind, "at": format_utc(step.at)}
    if step.event is not None:
        after = step.out_of_order_after
        body |= {
            "event_id": step.event.event_id,
            "event_type": step.event.event_type,
            "from": labels.get(step.arrival or 0),
            "outcome": step.outcome,
            "out_of_order_after": None if after is None else labels.get(after),
        }
    if step.linked_case is not None:
        body["linked_case"] = step.linked_case
    body["changes"] = {n: [_json_value(n, a), _json_value(n, b)] for n, a, b in step.changes}
    body["findings"] = [_finding_json(c) for c in step.findings]
    return body


def findings_history(story: Explanation, labels: dict[int, str]) -> list[dict[str, Any]]:
    """Each finding once: when it opened (and why), and when and by what it resolved."""
    found: dict[str, dict[str, Any]] = {}
    for step in story.steps:
        for change in step.findings:
            f = change.finding
            entry = found.setdefault(
                f.finding_id, {"kind": f.kind, "finding_id": f.finding_id, "resolves": f.resolves}
            )
            by = _cause(step, labels)
            if change.change in {"opened", "reopened"}:
                entry |= {"opened_at": step.at, "opened_by": by, "why": f.summary}
                entry.pop("resolved_at", None)
                entry.pop("resolved_by", None)
            elif change.change == "resolved":
                entry |= {"resolved_at": step.at, "resolved_by": by}
            entry |= {"status": f.status, "detected_at": f.detected_at}
    return list(found.values())


def _cause(step: Step, labels: dict[int, str]) -> str:
    if step.event is not None:
        return f"{step.event.event_type} {step.event.event_id} ({labels.get(step.arrival or 0)})"
    if step.linked_case is not None:
        return f"an event of linked case {step.linked_case}"
    return "time passing"


def as_json(story: Explanation, labels: dict[int, str]) -> dict[str, Any]:
    return {
        "case": f"{story.force}/{story.case_id}",
        "ruleset": story.ruleset,
        "as_of": None if story.as_of is None else format_utc(story.as_of),
        "steps": [_step_json(s, labels) for s in story.steps],
        "findings": [
            {k: _utc(v) if k.endswith("_at") else v for k, v in entry.items()}
            for entry in findings_history(story, labels)
        ],
        "final": {n: _json_value(n, getattr(story.final, n)) for n in CaseView.__slots__},
    }


def _words(name: str, value: Any, when: Any) -> str:
    if name == "criteria_met":
        return f"its facts meet {', '.join(value)}" if value else "its facts meet no criterion"
    if name == "assessed_mandatory":
        return (
            "the force assessed it as mandatory"
            if value
            else "the force assessed it as not mandatory"
        )
    if value is None or value == ():
        return {
            "duty_arose_at": "no duty to refer",
            "referral_at": "no referral",
            "deadline": "no deadline",
        }.get(name, f"{name.replace('_', ' ')}: none")
    text = when(value) if name in TIMES else ", ".join(value) if isinstance(value, tuple) else value
    return {
        "recorded_at": f"recorded {text}",
        "facts_event_id": f"facts in force: {text}",
        "duty_arose_at": f"the duty to refer arose {text}",
        "duty_criteria": f"by {text}",
        "duty_event_id": f"evidence {text}",
        "through_linked": f"same_incident through linked case {text}",
        "deadline": f"referral due before {text}",
        "referral_at": f"referral {text}",
        "referral_event_id": f"by event {text}",
        "referral_by": f"({text})",
        "decision": f"the watchdog decided: {text}",
        "closed_at": f"closed {text}",
    }.get(name, f"{name}: {text}")


def _step_lines(step: Step, when: Any, labels: dict[int, str]) -> Iterator[str]:
    if step.kind == "event" and step.event is not None:
        event = step.event
        where = labels.get(step.arrival or 0)
        yield f"{when(step.at)}  {event.event_type}  {event.event_id}  ({where})"
        if step.out_of_order_after is not None:
            yield (
                f"    arrived out of order, after {labels.get(step.out_of_order_after)} which "
                "happened later; judged at its own event time"
            )
        if step.outcome == "duplicate":
            yield "    a repeat of an event already applied: ignored"
        elif step.outcome == "limit":
            yield "    beyond what one case may hold: rejected (case_limit_exceeded), not judged"
    elif step.kind == "linked":
        yield f"{when(step.at)}  linked case {step.linked_case} changed"
    else:
        yield f"{when(step.at)}  time passed"
    if step.changes:
        yield "    " + "; ".join(_words(n, b, when) for n, _, b in step.changes)
    for change in step.findings:
        f = change.finding
        yield f"    {change.change} {f.kind}: {f.summary}"


def as_text(story: Explanation, zone: Any, labels: dict[int, str]) -> str:
    def when(micros: int) -> str:
        return local_label(micros, zone)

    as_of = "-" if story.as_of is None else when(story.as_of)
    lines = [f"{story.force}/{story.case_id}, judged by {story.ruleset} as of {as_of}", ""]
    for step in story.steps:
        lines.extend(_step_lines(step, when, labels))
    lines += ["", "Findings:"]
    history = findings_history(story, labels)
    for entry in history:
        lines.append(f"  {entry['kind']} ({entry['status']}, {entry['finding_id']})")
        if "opened_at" in entry:
            lines.append(
                f"    opened {when(entry['opened_at'])} by {entry['opened_by']}: {entry['why']}"
            )
        if "resolved_at" in entry:
            lines.append(f"    resolved {when(entry['resolved_at'])} by {entry['resolved_by']}")
        elif entry["status"] == "open":
            lines.append(f"    what resolves it: {entry['resolves']}")
    if not history:
        lines.append("  none")
    # Ids, labels and the ruleset id come from files: printed, never obeyed.
    return safe_lines(lines) + "\n"
