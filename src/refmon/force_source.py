"""What `refmon alerts` and `refmon findings` share: the force, its alerts topic and group,
and reading findings from a file or from that topic, with bad ones named and counted."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from refmon.environment import Environment, UsageError
from refmon.force_settings import ENV_FORCE, ForceSettings
from refmon.kafka_options import settings_from, topics_from
from refmon.worklist import Rejected, parse


def add_force_option(parser: argparse.ArgumentParser, required_for: str) -> None:
    parser.add_argument(
        "--force",
        default=ForceSettings().force,
        metavar="CODE",
        help=f"the force whose alerts to read, e.g. DUR ({required_for}; or {ENV_FORCE})",
    )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="no summary and no per-message warnings"
    )


def checked_force(code: str | None) -> str:
    from refmon.schemas.forces import force_codes

    if not code:
        raise UsageError(f"give --force CODE (or set {ENV_FORCE})")
    if code not in force_codes():
        raise UsageError(f"--force: unknown force {code[:16]!r}")
    return code


def alerts_group(args: argparse.Namespace, force: str) -> str:
    """The force's own consumer group, the one its ACLs allow: `<prefix>-<user>`."""
    from refmon.streams.kafka.acls import force_group, force_user

    chosen = args.group or ForceSettings().alerts_group
    if chosen:
        return str(chosen)
    return force_group(topics_from(args), settings_from(args).username or force_user(force))


def start(reader: Any, where: str) -> None:
    """Start reading; a topic that is missing or not this user's to read is a usage error."""
    try:
        reader.start(where)
    except LookupError as err:
        raise UsageError(f"{err.args[0]} (check --force, --topic-prefix and the user)") from None


@dataclass
class Tally:
    """Findings read, and what was not a finding (named on stderr by place and reason)."""

    read: int = 0
    rejected: int = 0
    quiet: bool = False

    def reject(self, env: Environment, where: str, why: Rejected) -> None:
        self.rejected += 1
        if not self.quiet:
            env.warn(f"{where}: {why.reason}; skipped")

    def take(
        self, env: Environment, where: str, found: dict[str, Any] | Rejected
    ) -> dict[str, Any] | None:
        """The finding, counted as read; or None, named and counted as rejected."""
        if isinstance(found, Rejected):
            self.reject(env, where, found)
            return None
        self.read += 1
        return found


def file_findings(path: str, env: Environment, tally: Tally) -> Iterator[dict[str, Any]]:
    """Findings from `refmon run --findings` (or saved alerts), one JSON object a line."""
    from refmon.commands.run import open_input
    from refmon.streams.runner.lines import read_lines

    with ExitStack() as stack:
        source, _ = open_input(path, env)
        if source is not env.stdin:
            stack.callback(source.close)
        for line in read_lines(source):
            found = tally.take(
                env,
                f"line {line.number}",
                Rejected("longer than the line limit") if line.data is None else parse(line.data),
            )
            if found is not None:
                yield found


def topic_findings(
    args: argparse.Namespace, env: Environment, force: str, tally: Tally
) -> Iterator[dict[str, Any]]:
    """Every alert the force's topic still holds, from its start to its end now."""
    from refmon.streams.kafka.alerts import AlertsReader

    topic = topics_from(args).alerts(force)
    with AlertsReader(settings_from(args), topic) as reader:
        start(reader, "beginning")
        if reader.trimmed() and not tally.quiet:
            env.warn(
                f"{topic} no longer holds its oldest alerts (it keeps 90 days): a finding "
                "whose latest change is older is not listed"
            )
        for record in reader.records(follow=False):
            found = tally.take(env, f"{topic} offset {record.offset}", parse(record.value or b""))
            if found is not None:
                yield found
