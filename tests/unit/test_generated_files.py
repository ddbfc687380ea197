"""The committed Alertmanager config and dashboards are what the code generates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from refmon.ops.artifacts import DASHBOARD_DIR, artifact_files
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_committed_files_are_current() -> None:
    result = run_cli(["generate", "check", "--root", str(ROOT)])
    assert result.status == 0, result.stderr


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    for path in artifact_files():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    stale = tmp_path / DASHBOARD_DIR / "force.json"
    stale.write_text(stale.read_text().replace("Referral delay", "Referal delay"))
    result = run_cli(["generate", "check", "--root", str(tmp_path)])
    assert result.status == 1
    assert "force.json is not current" in result.stderr
    assert "national.json" not in result.stderr


def test_dashboards_have_unique_uids_titles_and_panel_ids_on_the_datasource_variable() -> None:
    uids = set()
    for path, text in artifact_files().items():
        if path.suffix != ".json":
            continue
        board = json.loads(text)
        uids.add(board["uid"])
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert len({p["id"] for p in board["panels"]}) == len(board["panels"]), path
        assert len({p["title"] for p in panels}) == len(panels), path
        for panel in panels:
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["description"], panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["expr"], panel["title"]
    assert uids == {"refmon-national", "refmon-force", "refmon-pipeline"}
