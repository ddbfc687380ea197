"""The Prometheus endpoint: a registry of refmon's own, served on a background thread."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

from refmon.endpoint import LOOPBACK, url
from refmon.environment import UsageError
from refmon.streams.metrics import RefmonMetrics


def start_metrics(port: int, address: str = LOOPBACK) -> tuple[RefmonMetrics, str]:
    """Start serving on `address`; with port 0 the system picks a free port. Returns the
    metrics and the URL of the socket really bound (what a banner should print)."""
    registry = CollectorRegistry()
    metrics = RefmonMetrics(registry)
    try:
        server, _thread = start_http_server(port, addr=address, registry=registry)
    except OSError as err:
        reason = err.strerror or str(err)
        raise UsageError(f"cannot serve metrics on {url(address, port)}: {reason}") from None
    host, bound = server.server_address[:2]
    return metrics, url(str(host), int(bound))
