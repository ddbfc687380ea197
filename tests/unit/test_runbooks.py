"""The runbooks cite only what exists: files, and the alerts that link to them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "deploy" / "runbooks"
CITED = re.compile(r"\]\(([^)#]+)(?:#[^)]*)?\)|\b([A-Z][A-Z_]+\.md)\b")


def test_every_file_a_runbook_cites_is_in_the_repository() -> None:
    for runbook in RUNBOOKS.glob("*.md"):
        for link, bare in CITED.findall(runbook.read_text()):
            name = link or bare
            assert (RUNBOOKS / name).exists() or (ROOT / name).exists(), (runbook.name, name)


def test_every_alert_links_to_a_runbook_section_that_exists() -> None:
    alerts = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
            headings = (ROOT / path).read_text().splitlines()
            assert f"## {rule['alert']}" in headings, rule["alert"]
            assert anchor == rule["alert"].lower()
