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
    for cross_force in (
        "RefmonComplianceBelowFunnel95",
        "RefmonReturnedShareAboveFunnel998",
        "RefmonTimelinessDeteriorating",
    ):
        found = routes(f"alertname={cross_force}", "team=oversight", f"force={code}")
        assert found == {f"force-{code}", "oversight"}, cross_force


def test_the_998_alert_of_each_funnel_silences_its_95_one_for_the_same_force() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    pairs = {
        (rule["source_matchers"][0], rule["target_matchers"][0], tuple(rule["equal"]))
        for rule in config["inhibit_rules"]
    }
    for measure in ("ComplianceBelow", "MandatoryShareBelow", "ReturnedShareAbove"):
        source, target = f"Refmon{measure}Funnel998", f"Refmon{measure}Funnel95"
        assert (f"alertname={source}", f"alertname={target}", ("force",)) in pairs


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


@pytest.mark.parametrize("code", ["DUR", "MPS", "WMP"])
def test_a_forces_new_missed_referrals_reach_that_force_only_grouped_per_force_within_a_minute(
    code: str,
) -> None:
    new_case = routes("alertname=RefmonMissedReferralNewCase", "team=force", f"force={code}")
    assert new_case == {f"force-{code}"}
    route = yaml.safe_load(CONFIG.read_text())["route"]
    # One group per alert and force: one force's new case never joins another's group, and
    # each firing anew (another case) changes the group, which Alertmanager then sends.
    assert {"alertname", "force"} <= set(route["group_by"])
    (force_route,) = [r for r in route["routes"] if r["matchers"] == [f'force="{code}"']]
    (inner,) = force_route["routes"]
    assert inner["matchers"] == ['alertname="RefmonMissedReferralNewCase"']
    assert "receiver" not in inner  # the force's own
    assert (inner["group_interval"], inner["repeat_interval"]) == ("1m", "24h")


@pytest.mark.parametrize("code", ["DUR", "MPS"])
def test_an_overdue_outlier_goes_to_whoever_owes_the_action(code: str) -> None:
    # The force's overdue response or action plan: that force only.
    owed = routes(
        "alertname=RefmonOutlierOverdueForce", "team=force", "owner=force", f"force={code}"
    )
    assert owed == {f"force-{code}"}
    # The watchdog's own overdue stage: the oversight team only, never the force.
    ours = routes(
        "alertname=RefmonOutlierOverdueWatchdog",
        "team=oversight",
        "owner=watchdog",
        f"force={code}",
    )
    assert ours == {"oversight"}
