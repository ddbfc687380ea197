"""The Grafana dashboards, built with grafana-foundation-sdk (pinned in pyproject)."""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from refmon.ops.grafana.force import force_dashboard
from refmon.ops.grafana.national import national_dashboard
from refmon.ops.grafana.pipeline import KAFKA_ONLY_METRICS, pipeline_dashboard

__all__ = ["KAFKA_ONLY_METRICS", "dashboard_files"]


def dashboard_files() -> dict[str, str]:
    """File name to JSON text, deterministic so a check can compare it byte for byte."""
    files: dict[str, str] = {}
    for name, builder in (
        ("national.json", national_dashboard),
        ("force.json", force_dashboard),
        ("pipeline.json", pipeline_dashboard),
    ):
        model: dict[str, Any] = json.loads(json.dumps(builder().build(), cls=JSONEncoder))
        # The SDK leaves ids to Grafana; fixed ones keep panel links and the check stable.
        for number, panel in enumerate(model["panels"], start=1):
            panel["id"] = number
        files[name] = json.dumps(model, indent=2, sort_keys=True) + "\n"
    return files
