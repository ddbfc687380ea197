"""The Prometheus endpoint: a registry of refmon's own, served on a background thread."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from refmon.endpoint import LOOPBACK, url
from refmon.environment import UsageError
from refmon.metrics_http import Health, MetricsServer
from refmon.streams.metrics import RefmonMetrics


def start_metrics(
    port: int, address: str = LOOPBACK, health: Health | None = None
) -> tuple[RefmonMetrics, str]:
    """Start serving on `address`; with port 0 the system picks a free port. Returns the
    metrics and the URL of the socket really bound (what a banner should print). `health`
    answers /healthz and /readyz (metrics_http.py)."""
    registry = CollectorRegistry()
    metrics = RefmonMetrics(registry)
    try:
        server = MetricsServer(registry, address, port, health)
    except OSError as err:
        reason = err.strerror or str(err)
        raise UsageError(f"cannot serve metrics on {url(address, port)}: {reason}") from None
    server.start()
    host, bound = server.server_address
    return metrics, url(host, bound)
