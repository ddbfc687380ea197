"""One version everywhere, and a changelog entry that says what changed in it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from refmon import __version__
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_the_cli_and_the_chart_give_one_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    chart = yaml.safe_load((ROOT / "deploy" / "helm" / "refmon" / "Chart.yaml").read_text())
    assert project["version"] == __version__ == chart["version"] == chart["appVersion"]
    assert run_cli(["--version"]).status == 0  # argparse prints it to sys.stdout
    assert capsys.readouterr().out.strip() == f"refmon {__version__}"


def test_the_changelog_leads_with_this_version_and_its_upgrade_notes() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## (\d+\.\d+\.\d+)\b", text, re.MULTILINE)
    assert releases[0] == __version__
    this = text.split(f"## {__version__}", 1)[1].split("\n## ", 1)[0]
    assert "### Upgrading from 0.1" in this
    assert "resolves" in this


def test_the_chart_describes_the_worker_volume_as_what_it_holds() -> None:
    values = (ROOT / "deploy" / "helm" / "refmon" / "values.yaml").read_text()
    assert "RocksDB" not in values
    assert yaml.safe_load(values)["persistence"]["size"] == "1Gi"
