"""A report's outliers are checked like the rest of it before a bulletin is made from them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.unit.test_hostile_reports import bulletin, one_error_line, report, write

__all__ = ["report"]  # the fixture, shared

OUTLIER = {
    "outlier_id": "=HYPERLINK(1)",
    "force": "DUR",
    "measure": "compliance",
    "level": "alarm",
    "z": -4.0,
    "opened_at": "2025-01-01T00:00:00Z",
    "state": "data_check",
    "awaits": "outlier.checked",
    "owner": "watchdog",
    "due": "2025-01-16T00:00:00Z",
    "overdue": True,
    "closed_at": None,
    "close_reason": None,
    "ignored_actions": 0,
    "history": [],
}


def test_an_outlier_in_an_unknown_state_is_one_clear_error(
    report: dict[str, Any], tmp_path: Path
) -> None:
    body = copy.deepcopy(report)
    body["outliers"] = [OUTLIER | {"state": "lost"}]
    status, stderr = bulletin(write(tmp_path, body), tmp_path / "out")
    assert status == 2
    assert one_error_line(stderr)
    assert "outliers" in stderr
    assert "state" in stderr
    assert not (tmp_path / "out").exists()


def test_an_outlier_id_never_runs_as_a_spreadsheet_formula(
    report: dict[str, Any], tmp_path: Path
) -> None:
    body = copy.deepcopy(report)
    body["outliers"] = [OUTLIER]
    status, stderr = bulletin(write(tmp_path, body), tmp_path / "out")
    assert status == 0, stderr
    text = (tmp_path / "out" / "outliers-open.csv").read_text()
    assert ",'=HYPERLINK(1)," in text
