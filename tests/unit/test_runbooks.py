"""Every alert links to its own section of a runbook (links between files: test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_alert_links_to_a_runbook_section_that_exists() -> None:
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
            headings = (ROOT / path).read_text().splitlines()
            assert f"## {rule['alert']}" in headings, rule["alert"]
            assert anchor == rule["alert"].lower()
