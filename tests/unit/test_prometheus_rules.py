"""Every alert carries what on-call needs, and its runbook anchor exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_there_are_alerts_for_each_concern() -> None:
    names = {a["alert"] for a in alerts()}
    assert {
        "RefmonMissedReferral",
        "RefmonComplianceBelowFunnel95",
        "RefmonComplianceBelowFunnel998",
        "RefmonMandatoryShareBelowFunnel95",
        "RefmonMandatoryShareBelowFunnel998",
        "RefmonReturnedShareAboveFunnel95",
        "RefmonReturnedShareAboveFunnel998",
        "RefmonTimelinessDeteriorating",
        "RefmonForceSilent",
        "RefmonRejectedEventsRising",
        "RefmonWorkerDown",
        "RefmonLagging",
    } <= names


def test_every_alert_has_severity_summary_description_and_a_runbook_that_exists() -> None:
    for alert in alerts():
        name = alert["alert"]
        assert name.startswith("Refmon"), name
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, name
        notes = alert["annotations"]
        assert notes["summary"].endswith("."), name
        assert notes["description"], name
        path, _, anchor = notes["runbook_url"].partition("#")
        runbook = DEPLOY.parent / path
        assert runbook.is_file(), f"{name}: {path}"
        headings = re.findall(r"^## (\w+)$", runbook.read_text(), re.MULTILINE)
        assert anchor == name.lower(), name
        assert name in headings, f"{name}: no heading in {path}"


def test_every_alert_is_covered_by_a_promtool_test() -> None:
    tested = set(re.findall(r"alertname: (\w+)", (DEPLOY / "prometheus" / "tests.yml").read_text()))
    assert {a["alert"] for a in alerts()} <= tested
