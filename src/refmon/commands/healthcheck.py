"""`refmon healthcheck`: exit 0 when a refmon process says it is ready (or live), 1 with the
reason when not.

For container HEALTHCHECKs and probes: the image has no curl, and this needs nothing beyond
refmon. A worker is ready when a Kafka broker answered it within the last 15 s and nothing
is restoring or stalled (streams/worker/health.py), so the check fails within 30 s of the
worker losing its broker; `refmon run` is ready while it serves.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request

from pydantic_settings import BaseSettings, SettingsConfigDict

from refmon.endpoint import ENV_ADDRESS, probe_host, url
from refmon.environment import Environment, ExitStatus

DEFAULT_PORT = 9464
MAX_BODY = 65536
"""A health answer is a few hundred bytes; more is not read."""


class Probe(BaseSettings):
    """Where the endpoint listens: REFMON_METRICS_PORT and REFMON_METRICS_ADDRESS, as the
    worker reads them. Kept as text: a value the worker would refuse is not this one's to
    judge, and the probe of it fails by itself."""

    model_config = SettingsConfigDict(
        env_prefix="REFMON_", env_ignore_empty=True, frozen=True, extra="ignore"
    )

    metrics_port: str = str(DEFAULT_PORT)
    metrics_address: str = ""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    where = Probe()
    port, host = where.metrics_port, probe_host(where.metrics_address)
    p = commands.add_parser(
        "healthcheck",
        help="exit 0 if refmon is ready (or live), 1 with the reason if not",
        description="Asks the metrics endpoint once. Exit status 0: ready (or with --live, "
        "live); 1: not, with the reason on standard error (not ready, refused, timed out "
        "or an error status). A worker is ready when a Kafka broker answered it within the "
        "last 15 s and no partition is restoring or stalled.",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--ready",
        dest="path",
        action="store_const",
        const="/readyz",
        help="ready: connected, restored and progressing (the default)",
    )
    which.add_argument(
        "--live",
        dest="path",
        action="store_const",
        const="/healthz",
        help="live: the process runs (for a liveness probe: losing the broker is not a "
        "reason to restart)",
    )
    which.add_argument(
        "--url",
        help=f"fetch this URL instead (default: /readyz where REFMON_METRICS_PORT and "
        f"{ENV_ADDRESS} say the endpoint listens, now {url(host, port, '/readyz')})",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="default 5 seconds")
    p.set_defaults(handler=healthcheck_command, path="/readyz", host=host, port=port)


def target(args: argparse.Namespace) -> str:
    """What is fetched: --url, or the endpoint's /readyz (or /healthz with --live)."""
    return str(args.url or url(args.host, args.port, args.path))


def healthcheck_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    where = target(args)
    try:
        with urllib.request.urlopen(where, timeout=args.timeout) as response:
            body = response.read(MAX_BODY)
            if response.status == 200:
                return ExitStatus.OK
            return _failed(env, where, response.status, body)
    except urllib.error.HTTPError as err:  # 503 from /readyz: the body says why
        return _failed(env, where, err.code, err.read(MAX_BODY))
    except (urllib.error.URLError, OSError) as err:
        env.error(f"{where}: {getattr(err, 'reason', err)}")
        return ExitStatus.ERROR


def _failed(env: Environment, where: str, status: int, body: bytes) -> ExitStatus:
    try:
        reasons = [str(r) for r in json.loads(body).get("reasons", [])]
    except (ValueError, AttributeError):
        reasons = []  # not a health answer: the status says enough
    env.error(f"{where}: status {status}" + (f": {'; '.join(reasons)}" if reasons else ""))
    return ExitStatus.ERROR
