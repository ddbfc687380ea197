"""The Prometheus endpoint: a registry of refmon's own, served on a background thread."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

from refmon.streams.metrics import RefmonMetrics


def start_metrics(port: int, addr: str = "0.0.0.0") -> tuple[RefmonMetrics, int]:
    """Start serving; with port 0 the system picks a free port, which is returned."""
    registry = CollectorRegistry()
    metrics = RefmonMetrics(registry)
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return metrics, int(server.server_port)
