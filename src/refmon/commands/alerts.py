"""`refmon alerts`: follow a force's alerts topic with the force's own credentials.

Each alert is one change of one finding (opened, updated, resolved, reopened);
each is printed as a line a person can act on, or as JSON, and can be
forwarded to a webhook. The place reached is kept in the force's consumer
group after each alert is printed and forwarded, so a restart carries on where
it stopped; an alert the webhook would not take is not passed, so it is tried
again on the next start (the webhook's state file keeps it from being sent twice).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from refmon.environment import Environment, ExitStatus, UsageError
from refmon.force_settings import ENV_ATTEMPTS, ENV_GROUP, ENV_STATE, ENV_WEBHOOK, ForceSettings
from refmon.force_source import (
    Tally,
    add_force_option,
    add_quiet_option,
    alerts_group,
    checked_force,
    start,
)
from refmon.kafka_options import add_kafka_options, settings_from, topics_from
from refmon.worklist import line, parse

if TYPE_CHECKING:  # the Kafka client and the HTTP stack load only when the command runs
    from refmon.streams.kafka.alerts import AlertRecord
    from refmon.webhook import Forwarder


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    given = ForceSettings()
    p = commands.add_parser(
        "alerts",
        help="follow a force's alerts: each as a line (case, criteria, deadline, what "
        "resolves it) or JSON, optionally forwarded to a webhook",
        description="Reads the force's alerts topic with the force's own credentials "
        "(read_committed), from where the force's consumer group left off (the first time: "
        "only alerts still to come), and waits for more until stopped.",
    )
    add_force_option(p, "required")
    p.add_argument(
        "--from-beginning",
        action="store_true",
        help="start from the oldest alert the topic holds (90 days), not where the group left off",
    )
    p.add_argument(
        "--exit-at-end", action="store_true", help="stop at the end of the topic instead of waiting"
    )
    p.add_argument("--json", action="store_true", help="each alert as a JSON object, one a line")
    p.add_argument(
        "--group",
        metavar="ID",
        help=f"consumer group (default <prefix>-<user>, the one a force's ACLs allow; "
        f"or {ENV_GROUP})",
    )
    p.add_argument(
        "--webhook",
        metavar="URL",
        default=given.webhook_url,
        help=f"POST each new alert (JSON) here, retried; or {ENV_WEBHOOK}",
    )
    p.add_argument(
        "--webhook-state",
        metavar="PATH",
        default=given.webhook_state,
        help="the alerts already forwarded, so that none is sent twice (default "
        f"refmon-webhook-<FORCE>.sent here; or {ENV_STATE})",
    )
    p.add_argument(
        "--webhook-attempts",
        type=int,
        metavar="N",
        default=given.webhook_attempts,
        help=f"tries per alert before giving up (default 5, or {ENV_ATTEMPTS})",
    )
    add_quiet_option(p)
    add_kafka_options(p)
    p.set_defaults(handler=alerts_command)


class Follower:
    """Prints, forwards, then marks each alert done: in that order, so none is lost."""

    def __init__(
        self,
        env: Environment,
        as_json: bool,
        forwarder: Forwarder | None,
        done: Callable[[AlertRecord], None],
        where: str,
        quiet: bool = False,
    ) -> None:
        self.env, self.as_json, self.forwarder, self.done = env, as_json, forwarder, done
        self.where = where
        self.tally = Tally(quiet=quiet)

    def follow(self, records: Iterable[AlertRecord]) -> None:
        for record in records:
            where = f"{self.where} offset {record.offset}"
            alert = self.tally.take(self.env, where, parse(record.value or b""))
            if alert is not None:
                shown = json.dumps(alert, ensure_ascii=False) if self.as_json else line(alert)
                self.env.stdout.write(shown + "\n")
                self.env.stdout.flush()
                if self.forwarder is not None:
                    self.forwarder.forward(alert)
            self.done(record)


def _forwarder(args: argparse.Namespace, force: str) -> Forwarder | None:
    from refmon.webhook import Forwarder, SentLog

    if not args.webhook:
        return None
    if not args.webhook.startswith(("http://", "https://")):
        raise UsageError("--webhook must be an http:// or https:// URL")
    if args.webhook_attempts < 1:
        raise UsageError("--webhook-attempts must be at least 1")
    state = Path(args.webhook_state or f"refmon-webhook-{force}.sent")
    if not state.parent.is_dir():
        raise UsageError(f"--webhook-state: no directory {state.parent}")
    return Forwarder(args.webhook, SentLog(state), args.webhook_attempts)


def alerts_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from refmon.streams.kafka.alerts import AlertsReader
    from refmon.webhook import WebhookError

    force = checked_force(args.force)
    forwarder = _forwarder(args, force)
    topic = topics_from(args).alerts(force)
    group = alerts_group(args, force)
    with AlertsReader(settings_from(args), topic, group) as reader:
        start(reader, "beginning" if args.from_beginning else "committed")
        follower = Follower(env, args.json, forwarder, reader.commit, topic, args.quiet)
        try:
            follower.follow(reader.records(follow=not args.exit_at_end))
        except WebhookError as err:
            env.error(f"{err}; the alert stays unread, to be sent on the next start")
            return ExitStatus.ERROR
    if forwarder is not None and not args.quiet:
        env.stderr.write(
            f"refmon: {forwarder.forwarded} alert(s) forwarded, "
            f"{forwarder.skipped} already sent before\n"
        )
    return ExitStatus.OK
