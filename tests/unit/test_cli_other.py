"""`refmon rules`, `refmon schema`, `refmon simulate`, the progress bar and the metrics endpoint."""

from __future__ import annotations

import io
import json
import re
import urllib.request
from pathlib import Path

import pytest

from refmon.cli import main
from refmon.environment import Environment
from tests.cli import run_cli
from tests.factories import received, recorded


def test_rules_list_names_every_criterion() -> None:
    result = run_cli(["rules", "list"])
    assert result.status == 0
    ids = re.findall(r"^  (\w+)", result.stdout, re.MULTILINE)
    assert ids == [
        "dsi",
        "death_or_serious_injury",
        "serious_assault",
        "serious_sexual_offence",
        "serious_corruption",
        "discrimination_aggravated",
        "relevant_offence",
        "chief_officer",
        "same_incident",
    ]


def test_rules_explain_gives_conditions_and_legal_basis() -> None:
    result = run_cli(["rules", "explain", "serious_corruption"])
    assert result.status == 0
    assert "abuse_of_position_sexual_purpose" in result.stdout
    assert "legal basis:" in result.stdout
    assert run_cli(["rules", "explain", "rudeness"]).status == 2
    assert run_cli(["rules", "--ruleset", "xx-1999", "list"]).status == 1


def test_schema_check_fails_on_a_stale_folder_and_export_fixes_it(tmp_path: Path) -> None:
    assert run_cli(["schema", "check", "--output", str(tmp_path)]).status == 1
    assert run_cli(["schema", "export", "--output", str(tmp_path)]).status == 0
    assert run_cli(["schema", "check", "--output", str(tmp_path)]).status == 0
    assert len(list(tmp_path.glob("*.schema.json"))) == 13  # 12 event types, and any


SIM = ["simulate", "--days", "20", "--scale", "0.3", "-q"]


def test_simulate_is_deterministic_for_a_seed_and_differs_across_seeds() -> None:
    first, again = run_cli([*SIM, "--seed", "5"]), run_cli([*SIM, "--seed", "5"])
    other = run_cli([*SIM, "--seed", "6"])
    assert first.status == 0
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout
    assert len(first.stdout.splitlines()) > 500


def test_simulated_events_are_all_valid_and_time_ordered_without_disorder() -> None:
    result = run_cli(["run", "--input", "-", "-q"], run_cli([*SIM, "--seed", "2"]).stdout.encode())
    events = json.loads(result.stdout)["events"]
    assert events["invalid"] == 0
    assert events["duplicate"] == 0
    assert events["valid"] > 500


def test_simulated_decisions_follow_the_watchdogs_mix_and_the_chosen_forces_misbehave() -> None:
    stream = run_cli(
        [
            "simulate",
            "--days",
            "60",
            "--scale",
            "0.5",
            "--seed",
            "3",
            "--deteriorate",
            "KENT:2025-01-01:1",
            "--over-refer",
            "NOTTS:0.3",
            "-q",
        ]
    ).stdout
    report = json.loads(run_cli(["run", "--input", "-", "-q"], stream.encode()).stdout)
    rows = {r["force"]: r for r in report["forces"]}
    others = [r for f, r in rows.items() if f not in {"KENT", "NOTTS"}]
    decided = sum(r["decided"] for r in others)
    returned = sum(r["returned"] for r in others)
    # Mostly mandatory referrals, about a fifth of them returned; every decision occurs.
    assert 0.12 < returned / decided < 0.35
    assert all(sum(r["decisions"][d] for r in others) > 0 for d in rows["DUR"]["decisions"])
    assert rows["NOTTS"]["returned_share"] > 0.4
    voluntary = sum(r["voluntary"] for r in others) / sum(r["recorded"] for r in others)
    assert voluntary < 0.03 < 0.15 < rows["NOTTS"]["voluntary"] / rows["NOTTS"]["recorded"]
    assert rows["KENT"]["on_time"] == 0 < rows["KENT"]["late"]


@pytest.mark.parametrize(
    "args",
    [
        ["--under-refer", "NOPE"],
        ["--late", "DUR:1.5"],
        ["--under-categorise", "DUR:x"],
        ["--days", "0"],
        ["--start", "2025-13-01"],
        ["--invalid", "2"],
        ["--deteriorate", "DUR"],
        ["--deteriorate", "DUR:2025-02-30"],
        ["--deteriorate", "NOPE:2025-02-01"],
        ["--deteriorate", "DUR:2025-02-01:2"],
        ["--over-refer", "DUR:-0.1"],
    ],
)
def test_simulate_rejects_bad_options(args: list[str]) -> None:
    assert run_cli(["simulate", *args]).status == 2


def test_a_progress_bar_is_drawn_on_a_terminal_only(tmp_path: Path) -> None:
    data = tmp_path / "events.jsonl"
    data.write_text(
        "\n".join(json.dumps(recorded("2026-02-02T10:00:00Z", case=f"c{i}")) for i in range(3000))
    )
    err = io.StringIO()
    env = Environment(stdin=io.BytesIO(), stdout=io.StringIO(), stderr=err, stderr_isatty=True)
    assert main(["run", "--input", str(data)], env) == 0
    assert "refmon: events" in err.getvalue()
    assert "refmon: events" not in run_cli(["run", "--input", str(data)]).stderr


def _scrape(stderr: str) -> str:
    port = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", stderr)
    assert port is not None, stderr
    with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=5) as response:
        return str(response.read().decode())


def test_metrics_endpoint_serves_counts_findings_and_compliance() -> None:
    events = [
        recorded("2026-02-02T10:00:00Z", categories=["serious_assault"]),
        received("2026-02-05T00:00:00Z"),
    ]
    events += [recorded("2026-02-02T10:00:00Z", case=f"x{i}", force="MPS") for i in range(6)]
    data = b"\n".join(json.dumps(e).encode() for e in events) + b"\n{bad json\n"
    result = run_cli(["run", "--input", "-", "--metrics-port", "0", "--report", "/dev/null"], data)
    assert result.status == 0
    text = _scrape(result.stderr)
    assert 'refmon_events_total{event_type="case.recorded",force="DUR"} 1.0' in text
    assert 'refmon_events_total{event_type="case.recorded",force="MPS"} 6.0' in text
    assert 'refmon_events_rejected_total{reason="not_json"} 1.0' in text
    assert 'refmon_findings_open{force="DUR",kind="late_referral"} 1.0' in text
    assert 'refmon_findings_open{force="MPS",kind="missed_referral"} 0.0' in text
    assert 'refmon_force_mandatory_share_ratio{force="MPS"} 0.0' in text
    assert 'refmon_force_compliance_ratio{force="DUR"} 0.0' in text  # 0 of 1 due on time
    assert 'refmon_force_compliance_zscore{force="DUR"}' not in text  # under 5 due: absent, not 0
    assert 'refmon_force_compliance_ratio{force="MPS"}' not in text  # nothing due: no ratio
    # Duty 02-02 10:00, receipt 02-05 00:00: 223,200 s, in the (2 d, 3 d] bucket.
    delay = "refmon_force_referral_delay_seconds"
    assert f'{delay}_bucket{{force="DUR",le="172800.0"}} 0.0' in text
    assert f'{delay}_bucket{{force="DUR",le="259200.0"}} 1.0' in text
    assert f'{delay}_bucket{{force="DUR",le="+Inf"}} 1.0' in text
    assert f'{delay}_sum{{force="DUR"}} 223200.0' in text
    assert f'{delay}_count{{force="MPS"}} 0.0' in text  # nothing referred yet
    assert "c1" not in text
    assert "x1" not in text


def test_healthcheck_reports_a_live_endpoint_and_a_dead_one() -> None:
    import http.server
    import threading

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"refmon_cases_held 0\n")

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        assert run_cli(["healthcheck", "--url", url]).status == 0
    finally:
        server.shutdown()
        server.server_close()
    dead = run_cli(["healthcheck", "--url", url, "--timeout", "1"])
    assert dead.status == 1
    assert "refused" in dead.stderr.lower()


def test_sigterm_stops_a_running_command_with_status_143(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    # `run` reading a pipe that never ends: only a signal stops it. The metrics
    # banner says it has started (and installed its handler).
    proc = subprocess.Popen(
        [sys.executable, "-m", "refmon.cli", "run", "--input", "-", "--metrics-port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    assert b"metrics on" in proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
    assert b"Traceback" not in proc.stderr.read()
