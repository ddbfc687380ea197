"""Alertmanager routing: each force's alerts reach that force only (checked by amtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from refmon.schemas.forces import load_forces

from refmon.ops.alertmanager import Receivers, alertmanager_config
from tests.cli import run_cli

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "alertmanager" / "alertmanager.yml"


def amtool() -> str:
    path = shutil.which("amtool")
    assert path, "amtool is needed: apt-get install prometheus-alertmanager (.ci/run does)"
    return path


def routes(*labels: str) -> set[str]:
    result = subprocess.run(
        [amtool(), "config", "routes", "test", f"--config.file={CONFIG}", *labels],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.strip().split(","))


def test_the_committed_config_passes_amtool() -> None:
    result = subprocess.run(
        [amtool(), "check-config", str(CONFIG)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(load_forces()) + 2} receivers" in result.stdout


@pytest.mark.parametrize("code", [f.code for f in load_forces()])
def test_each_force_gets_its_own_alerts_and_oversight_the_cross_force_ones(code: str) -> None:
    missed = routes("alertname=RefmonMissedReferral", "team=force", f"force={code}")
    assert missed == {f"force-{code}"}
    funnel = routes("alertname=RefmonComplianceBelowFunnel95", "team=oversight", f"force={code}")
    assert funnel == {f"force-{code}", "oversight"}


def test_pipeline_alerts_go_to_ops_and_unlabelled_ones_to_oversight() -> None:
    assert routes("alertname=RefmonWorkerDown", "team=ops", "severity=critical") == {"ops"}
    assert routes("alertname=RefmonRejectedEventsRising", "team=oversight") == {"oversight"}
    assert routes("alertname=SomethingNew") == {"oversight"}


def test_per_force_urls_override_the_template_and_unknown_forces_are_refused(
    tmp_path: Path,
) -> None:
    config = alertmanager_config(
        Receivers(force_url_template="http://gw/{force}", force_urls={"DUR": "https://dur/hook"})
    )
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}
    assert urls["force-DUR"] == "https://dur/hook"
    assert urls["force-MPS"] == "http://gw/MPS"
    table = tmp_path / "urls.csv"
    table.write_text("force,url\nNOPE,http://x\n")
    result = run_cli(["generate", "alertmanager", "--force-urls", str(table)])
    assert result.status == 2
    assert "NOPE" in result.stderr
    assert run_cli(["generate", "alertmanager", "--force-url", "http://no-placeholder"]).status == 2


def test_the_generated_config_is_yaml_of_the_same_config() -> None:
    result = run_cli(["generate", "alertmanager"])
    assert result.status == 0
    assert yaml.safe_load(result.stdout) == alertmanager_config(Receivers())
