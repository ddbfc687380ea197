"""Where the metrics endpoint listens and how to reach it; light, so no prometheus_client here."""

from __future__ import annotations

import argparse
import ipaddress
import os

ENV_ADDRESS = "REFMON_METRICS_ADDRESS"
LOOPBACK = "127.0.0.1"


def add_address_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-address",
        # Metrics name forces and their compliance: nothing for the whole network by default.
        default=os.environ.get(ENV_ADDRESS) or LOOPBACK,
        metavar="ADDRESS",
        help=f"listen on this address (default {LOOPBACK}, this host only, or {ENV_ADDRESS}); "
        "0.0.0.0 or :: for every interface",
    )


def url(host: str, port: int | str, path: str = "/metrics") -> str:
    """The endpoint's URL (its metrics, or `path`: /healthz, /readyz); an IPv6 address goes
    in brackets."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}{path}"


def probe_host(address: str) -> str:
    """Where a process on the same host reaches an endpoint listening on `address`."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or LOOPBACK  # a host name, or nothing: every interface
    if ip.is_unspecified:
        return "::1" if ip.version == 6 else LOOPBACK
    return address
