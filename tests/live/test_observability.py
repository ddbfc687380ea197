"""Dashboards, recording rules, alerts and routing against the real thing.

`refmon run --metrics-port --keep-serving` replays a simulated national year
with chosen under-referring, under-categorising, deteriorating and
over-referring forces; Debian's Prometheus scrapes it and evaluates the
repository's rules; Debian's Alertmanager routes with the generated config to a
local webhook receiver.

Two changes to the committed files keep this to seconds: alerts lose their
`for` (promtool's tests cover the `for` durations) and groups are evaluated
and notified every second. Routing, matchers and inhibition are unchanged.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from refmon.schemas.forces import load_forces

from refmon.ops.alertmanager import Receivers, alertmanager_config
from refmon.ops.grafana import KAFKA_ONLY_METRICS, dashboard_files
from tests.cli import run_cli
from tests.live.services import Webhooks, binary, get_json, process, wait_for
from tests.ports import free_ports

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
UNDER_REFERRING = {"DUR", "LINCS"}
UNDER_CATEGORISING = {"CLEV"}
DETERIORATING = "HERTS"  # from the year's last three months
OVER_REFERRING = "NOTTS"
COMPLIANCE = {"RefmonComplianceBelowFunnel95", "RefmonComplianceBelowFunnel998"}
SHARE = {"RefmonMandatoryShareBelowFunnel95", "RefmonMandatoryShareBelowFunnel998"}
RETURNED = {"RefmonReturnedShareAboveFunnel95", "RefmonReturnedShareAboveFunnel998"}
CROSS_FORCE = COMPLIANCE | SHARE | RETURNED | {"RefmonTimelinessDeteriorating"}
# Each cross-force alert, and the report field and statuses that should raise it.
RAISED_BY = {
    "RefmonComplianceBelowFunnel95": ("compliance_status", {"alert", "alarm"}),
    "RefmonComplianceBelowFunnel998": ("compliance_status", {"alarm"}),
    "RefmonMandatoryShareBelowFunnel95": ("mandatory_share_status", {"alert", "alarm"}),
    "RefmonMandatoryShareBelowFunnel998": ("mandatory_share_status", {"alarm"}),
    "RefmonReturnedShareAboveFunnel95": ("returned_share_status", {"alert", "alarm"}),
    "RefmonReturnedShareAboveFunnel998": ("returned_share_status", {"alarm"}),
    "RefmonTimelinessDeteriorating": ("timeliness_status", {"signal"}),
}


@dataclass
class Stack:
    prometheus: str
    metrics: str
    webhooks: Webhooks
    report: dict[str, Any]

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = get_json(f"{self.prometheus}/api/v1/query", {"query": expr})
        assert answer["status"] == "success", (expr, answer)
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def firing(self) -> dict[str, set[str]]:
        by_name: dict[str, set[str]] = defaultdict(set)
        for alert in get_json(f"{self.prometheus}/api/v1/alerts")["data"]["alerts"]:
            if alert["state"] == "firing":
                by_name[alert["labels"]["alertname"]].add(alert["labels"].get("force", ""))
        return by_name


def _quick_rules(source: Path, target: Path) -> None:
    doc = yaml.safe_load(source.read_text())
    for group in doc["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule.pop("for", None)
    target.write_text(yaml.safe_dump(doc))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("live")
    stream = tmp / "events.jsonl"
    simulate = [
        "simulate",
        "--seed",
        "7",
        "--under-refer",
        ",".join(sorted(UNDER_REFERRING)),
        "--under-categorise",
        ",".join(sorted(UNDER_CATEGORISING)),
        "--deteriorate",
        f"{DETERIORATING}:2025-10-01:0.3",
        "--over-refer",
        f"{OVER_REFERRING}:0.1",
        "--duplicates",
        "0.01",
        "--invalid",
        "0.002",
        "-q",
    ]
    assert run_cli([*simulate, "--output", str(stream)]).status == 0
    report_path = tmp / "report.json"
    refmon_port, am_port, prom_port = free_ports(), free_ports(), free_ports()

    for name in ("rules.yml", "alerts.yml"):
        _quick_rules(ROOT / "deploy" / "prometheus" / name, tmp / name)
    with ExitStack() as stack, Webhooks() as hooks:
        am_config = alertmanager_config(
            Receivers(
                force_url_template=hooks.url + "/forces/{force}",
                oversight_url=hooks.url + "/oversight",
                ops_url=hooks.url + "/ops",
            )
        )
        am_config["route"].update(group_wait="1s", group_interval="1s")
        (tmp / "alertmanager.yml").write_text(yaml.safe_dump(am_config))
        (tmp / "prometheus.yml").write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(tmp / "rules.yml"), str(tmp / "alerts.yml")],
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}
                        ]
                    },
                    "scrape_configs": [
                        {
                            "job_name": "refmon",
                            "static_configs": [{"targets": [f"127.0.0.1:{refmon_port}"]}],
                        }
                    ],
                }
            )
        )
        refmon = str(Path(sys.executable).with_name("refmon"))
        run_log = tmp / "refmon.log"
        stack.enter_context(
            process(
                [
                    refmon,
                    "run",
                    "--input",
                    str(stream),
                    "--report",
                    str(report_path),
                    "--metrics-port",
                    str(refmon_port),
                    "--keep-serving",
                    "-q",
                ],
                run_log,
            )
        )
        wait_for("the replay to finish", lambda: "run complete" in run_log.read_text(), 300)
        stack.enter_context(
            process(
                [
                    binary("alertmanager", "prometheus-alertmanager"),
                    f"--config.file={tmp / 'alertmanager.yml'}",
                    f"--storage.path={tmp / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                tmp / "alertmanager.log",
            )
        )
        wait_for("Alertmanager", lambda: get_json(f"http://127.0.0.1:{am_port}/api/v2/status"), 60)
        stack.enter_context(
            process(
                [
                    binary("prometheus"),
                    f"--config.file={tmp / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                tmp / "prometheus.log",
            )
        )
        live = Stack(
            f"http://127.0.0.1:{prom_port}",
            f"http://127.0.0.1:{refmon_port}/metrics",
            hooks,
            json.loads(report_path.read_text()),
        )
        # Enough scrapes for every rate() to have two samples, and the alerts evaluated.
        wait_for(
            "five scrapes of refmon",
            lambda: live.query('count_over_time(up{job="refmon"}[1m]) >= 5'),
            120,
        )
        wait_for(
            "the funnel and CUSUM alerts",
            lambda: set(live.firing()) >= CROSS_FORCE,
            60,
        )
        yield live


def flagged(report: dict[str, Any], alert: str) -> set[str]:
    """The forces whose report row should raise this cross-force alert."""
    field, statuses = RAISED_BY[alert]
    return {r["force"] for r in report["forces"] if r[field] in statuses}


def test_the_replay_flags_the_chosen_forces(stack: Stack) -> None:
    report = stack.report
    assert flagged(report, "RefmonComplianceBelowFunnel998") == UNDER_REFERRING
    assert flagged(report, "RefmonMandatoryShareBelowFunnel998") == UNDER_CATEGORISING
    assert flagged(report, "RefmonReturnedShareAboveFunnel998") == {OVER_REFERRING}
    # The under-referring forces' overdue cases make them signal too.
    assert flagged(report, "RefmonTimelinessDeteriorating") == UNDER_REFERRING | {DETERIORATING}


def test_the_exposition_passes_promtool_check_metrics(stack: Stack) -> None:
    """Prometheus's own linter: naming conventions, units, help texts, types."""
    with urllib.request.urlopen(stack.metrics, timeout=10) as response:
        exposition = response.read()
    assert b"refmon_force_referral_delay_seconds_bucket" in exposition
    result = subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


def test_every_recording_rule_returns_data(stack: Stack) -> None:
    doc = yaml.safe_load((ROOT / "deploy" / "prometheus" / "rules.yml").read_text())
    records = [rule["record"] for group in doc["groups"] for rule in group["rules"]]
    assert len(records) >= 10
    empty = [record for record in records if not stack.query(record)]
    assert not empty


def _dashboard_queries() -> list[tuple[str, str, str]]:
    found = []
    for name, text in dashboard_files().items():
        for panel in json.loads(text)["panels"]:
            for target in panel.get("targets", []):
                found.append((name, panel["title"], target["expr"]))
    return found


def test_every_dashboard_query_returns_data(stack: Stack) -> None:
    queries = _dashboard_queries()
    kafka_only = [q for q in queries if any(m in q[2] for m in KAFKA_ONLY_METRICS)]
    # Only these panels need a Kafka worker (their metrics are checked in tests/kafka).
    assert [title for _, title, _ in kafka_only] == [
        "Consumer lag (Kafka workers only)",
        "Partition restores (Kafka workers only)",
    ]
    empty = []
    for board, title, expr in queries:
        if (board, title, expr) in kafka_only:
            continue
        concrete = expr.replace("$force", "DUR").replace("$__rate_interval", "30s")
        if not stack.query(concrete):
            empty.append((board, title, concrete))
    assert not empty
    assert len(queries) - len(kafka_only) >= 30


def test_the_force_variable_lists_every_force(stack: Stack) -> None:
    board = json.loads(dashboard_files()["force.json"])
    variable = next(v for v in board["templating"]["list"] if v["name"] == "force")
    match = re.fullmatch(r"label_values\((.+), force\)", variable["query"])
    assert match is not None
    values = get_json(f"{stack.prometheus}/api/v1/label/force/values", {"match[]": match.group(1)})[
        "data"
    ]
    assert set(values) == {f.code for f in load_forces()}


def test_the_cross_force_alerts_fire_for_exactly_the_forces_the_report_flags(
    stack: Stack,
) -> None:
    firing = stack.firing()
    for name in CROSS_FORCE:
        assert firing.get(name) == flagged(stack.report, name), name
    assert DETERIORATING in firing["RefmonTimelinessDeteriorating"]
    assert OVER_REFERRING in firing["RefmonReturnedShareAboveFunnel998"]
    missed = {r["force"] for r in stack.report["forces"] if r["open_findings"]["missed_referral"]}
    assert firing["RefmonMissedReferral"] == missed


def test_alertmanager_delivers_each_force_its_own_alerts_only(stack: Stack) -> None:
    raised = set().union(*(flagged(stack.report, name) for name in CROSS_FORCE))
    assert raised >= UNDER_REFERRING | UNDER_CATEGORISING | {DETERIORATING, OVER_REFERRING}
    wanted = {*(f"/forces/{f}" for f in raised), "/oversight"}

    both = {
        "RefmonTimelinessDeteriorating": {f"/forces/{DETERIORATING}", "/oversight"},
        "RefmonReturnedShareAboveFunnel998": {f"/forces/{OVER_REFERRING}", "/oversight"},
    }

    def delivered() -> bool:
        alerts = stack.webhooks.alerts()

        def paths(names: set[str]) -> set[str]:
            return {path for path, a in alerts if a["labels"]["alertname"] in names}

        return (
            paths(CROSS_FORCE) >= wanted
            and "/forces/DUR" in paths({"RefmonMissedReferral"})
            # DUR has a deterioration alert too: waiting for "a cross-force alert at DUR"
            # let the check below run before its compliance alarm was delivered.
            and "/forces/DUR" in paths({"RefmonComplianceBelowFunnel998"})
            and all(paths({name}) >= where for name, where in both.items())
        )

    wait_for("the funnel, CUSUM and missed-referral notifications", delivered, 60)
    by_path: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path, alert in stack.webhooks.alerts():
        by_path[path].append(alert["labels"])
    for path, alerts in by_path.items():
        if path.startswith("/forces/"):
            force = path.removeprefix("/forces/")
            assert {a.get("force") for a in alerts} == {force}, path
    funnel_paths = {
        path
        for path, alerts in by_path.items()
        if any(a["alertname"] in CROSS_FORCE for a in alerts)
    }
    assert funnel_paths == wanted
    # Deterioration and over-referral reached the force and the oversight team (waited
    # for above); the check above keeps them from any other force.
    # The 99.8 % returned-share alert inhibits the 95 % one for the same force.
    assert not any(
        a["alertname"] == "RefmonReturnedShareAboveFunnel95"
        for a in by_path[f"/forces/{OVER_REFERRING}"]
    )
    # A missed referral goes to the force, never to the oversight team.
    assert any(a["alertname"] == "RefmonMissedReferral" for a in by_path["/forces/DUR"])
    assert not any(a["alertname"] == "RefmonMissedReferral" for a in by_path["/oversight"])
    # The 99.8 % alert inhibits the 95 % one for the same force.
    dur = {a["alertname"] for a in by_path["/forces/DUR"]}
    assert "RefmonComplianceBelowFunnel998" in dur
    assert "RefmonComplianceBelowFunnel95" not in dur
