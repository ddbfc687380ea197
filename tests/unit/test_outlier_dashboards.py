"""Outliers on the dashboards: nationally by state with the overdue list; each force its own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from refmon.ops.grafana import dashboard_files

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules.yml"


def panels(name: str) -> dict[str, list[str]]:
    """Panel title -> its queries."""
    board: dict[str, Any] = json.loads(dashboard_files()[name])
    return {
        p["title"]: [t["expr"] for t in p.get("targets", [])]
        for p in board["panels"]
        if p["type"] != "row"
    }


def recorded() -> set[str]:
    doc = yaml.safe_load(RULES.read_text())
    return {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}


def test_the_national_dashboard_shows_outliers_by_state_and_the_overdue_list() -> None:
    found = panels("national.json")
    assert "force_owner:refmon_outliers_overdue:max" in found["Overdue outliers by owner"][0]
    assert "force_measure_state:refmon_outliers:max" in found["Open outliers by state"][0]
    for title in ("Open outliers", "Overdue outliers by owner", "Open outliers by state"):
        assert "$force" not in " ".join(found[title])


def test_each_forces_dashboard_shows_its_own_outliers_only() -> None:
    found = panels("force.json")
    for title in ("Open outliers", "Overdue outliers by owner", "Open outliers by state"):
        assert found[title]
        assert all('force="$force"' in expr for expr in found[title]), title


def test_the_outlier_panels_read_recording_rules_that_exist() -> None:
    rules = recorded()
    for name in ("national.json", "force.json"):
        for title, exprs in panels(name).items():
            if "outlier" not in title.lower():
                continue
            for expr in exprs:
                used = set(re.findall(r"[a-z_]+:refmon_outliers[a-z_]*:[a-z]+", expr))
                assert used
                assert used <= rules, (title, used - rules)
