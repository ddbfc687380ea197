"""`refmon healthcheck`: exit 0 when a refmon process answers on its metrics endpoint.

For container HEALTHCHECKs: the image has no curl, and this needs nothing beyond refmon.
"""

from __future__ import annotations

import argparse
import urllib.error
import urllib.request

from pydantic_settings import BaseSettings, SettingsConfigDict

from refmon.endpoint import ENV_ADDRESS, probe_host, url
from refmon.environment import Environment, ExitStatus

DEFAULT_PORT = 9464


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
        help="exit 0 if refmon's metrics endpoint answers, 1 if not",
        description="Fetches the metrics endpoint once. Exit status 0: it answered 200; "
        "1: it did not (refused, timed out or an error status).",
    )
    p.add_argument(
        "--url",
        default=url(host, port),
        help=f"default: %(default)s (where REFMON_METRICS_PORT and {ENV_ADDRESS} say the "
        "endpoint listens)",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="default 5 seconds")
    p.set_defaults(handler=healthcheck_command)


def healthcheck_command(args: argparse.Namespace, env: Environment) -> ExitStatus:
    try:
        with urllib.request.urlopen(args.url, timeout=args.timeout) as response:
            response.read(1)
            healthy = response.status == 200
    except (urllib.error.URLError, OSError) as err:
        env.error(f"{args.url}: {getattr(err, 'reason', err)}")
        return ExitStatus.ERROR
    if not healthy:
        env.error(f"{args.url}: status {response.status}")
    return ExitStatus.OK if healthy else ExitStatus.ERROR
