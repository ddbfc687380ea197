"""The compose stack stays in step with what the tests run and what the dashboards target."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ONE_SHOT = {"topics", "demo"}


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return doc


def test_kafka_is_the_version_the_tests_run() -> None:
    pom = (DEPLOY / "kafka-local" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert version is not None
    assert compose()["services"]["kafka"]["image"] == f"apache/kafka:{version.group(1)}"


def test_grafana_is_the_version_the_dashboards_are_built_for() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    sdk = re.search(r'"grafana-foundation-sdk==\d+!([\d.]+)"', pyproject)
    assert sdk is not None
    assert compose()["services"]["grafana"]["image"] == f"grafana/grafana:{sdk.group(1)}"


def test_long_running_services_have_health_checks_and_wait_for_their_dependencies() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        # Workers inherit the image's HEALTHCHECK (refmon healthcheck).
        if not name.startswith("worker-"):
            assert service["healthcheck"]["test"], name
        for dependency, rule in service.get("depends_on", {}).items():
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == wanted, (name, dependency)
    for worker in ("worker-1", "worker-2"):
        volumes = services[worker]["volumes"]
        assert volumes == [f"{worker}-state:/var/lib/refmon"]


def test_every_variable_the_stack_reads_is_in_the_example_settings() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+)[:}]", text))
    example = (DEPLOY / ".env.example").read_text()
    defined = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert used == defined


def test_the_image_runs_refmon_as_an_unprivileged_user_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    final = dockerfile.split("\nFROM ")[-1]
    assert "USER 10001:10001" in final
    assert 'ENTRYPOINT ["refmon"]' in final
    assert 'CMD ["refmon", "healthcheck"]' in final
    assert "pip install" not in final  # packages are built in the first stage only


def chart_values() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "helm" / "refmon" / "values.yaml").read_text())
    return doc


def test_the_chart_defaults_to_sasl_with_separate_worker_and_topic_job_principals() -> None:
    values = chart_values()
    assert values["kafka"]["securityProtocol"] == "SASL_SSL"
    assert values["kafka"]["allowPlaintext"] is False
    assert values["kafka"]["username"] == "refmon-worker"
    assert values["topics"]["username"] == "refmon-admin"
    assert values["topics"]["passwordSecret"]["name"] == ""  # its own Secret, required
    assert values["networkPolicy"]["enabled"] is True
    assert values["networkPolicy"]["metricsFrom"]  # someone (Prometheus) may scrape


def test_the_compose_stack_says_it_is_for_a_laptop_and_publishes_on_loopback_only() -> None:
    """Its Kafka has no authentication: docs/deploying.md and the file itself must say so."""
    assert "for a laptop only" in (DEPLOY / "compose.yaml").read_text().lower()
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    section = deploying.split("## With compose", 1)[1].split("\n## ", 1)[0]
    assert "for a laptop only" in section.lower()
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
