"""The deployments use the worker's health (issue 21: the Helm probes only fetched /metrics,
and the only alert that would notice a lost broker needed more than an hour of lag)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _probes() -> dict[str, str]:
    text = (DEPLOY / "helm" / "refmon" / "templates" / "statefulset.yaml").read_text()
    paths: dict[str, str] = {}
    probe = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("Probe:"):
            probe = stripped.removesuffix(":")
        elif stripped.startswith("path:") and probe:
            paths[probe] = stripped.removeprefix("path:").strip()
            probe = ""
    return paths


def test_the_charts_probes_ask_for_liveness_and_readiness_not_metrics() -> None:
    assert _probes() == {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }


def test_the_images_check_asks_for_readiness_often_enough_to_turn_unhealthy_within_30_s() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    found = re.search(r"^HEALTHCHECK (.*?) \\\n\s*CMD (.*)$", dockerfile, re.MULTILINE)
    assert found is not None
    assert found[2] == '["refmon", "healthcheck"]'  # ready by default
    options = dict(o.removeprefix("--").split("=") for o in found[1].split())
    seconds = int(options["interval"].removesuffix("s")) * int(options["retries"])
    assert 15 + seconds <= 30  # 15 s without an answer, then the checks that must fail
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert "healthcheck" not in compose["x-worker"]  # the compose workers use the image's


def test_a_worker_that_lost_kafka_alerts_the_ops_team() -> None:
    alerts: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    [rule] = [
        r
        for group in alerts["groups"]
        for r in group["rules"]
        if r.get("alert") == "RefmonWorkerKafkaDisconnected"
    ]
    assert rule["expr"] == "refmon_kafka_connected == 0"
    assert rule["labels"] == {"severity": "critical", "team": "ops"}
