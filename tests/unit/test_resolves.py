"""Every finding says what would resolve it: in the finding, in `refmon explain`, in the runbook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refmon.streams.engine.resolves import RESOLVES, UNKNOWN, resolves
from refmon.streams.engine.vocabulary import FINDING_KINDS

from tests.cli import run_cli
from tests.factories import recorded, referred

ROOT = Path(__file__).resolve().parents[2]
DUTY = "2026-02-02T10:00:00Z"  # due before 2026-02-04T00:00:00Z
# The story: referred a day late, and the IOPC's receipt never comes.
STORY = [recorded(DUTY, categories=["serious_assault"]), referred("2026-02-05T09:00:00Z")]


def _run(tmp_path: Path, events: list[dict[str, Any]], as_of: str) -> list[dict[str, Any]]:
    stream, out = tmp_path / "events.jsonl", tmp_path / "findings.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = run_cli(["run", "--input", str(stream), "--as-of", as_of, "--findings", str(out)])
    assert result.status == 0, result.stderr
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_every_finding_kind_has_its_own_resolve_text() -> None:
    assert all(resolves(kind) != UNKNOWN for kind in FINDING_KINDS)
    assert len({resolves(kind) for kind in FINDING_KINDS}) == len(FINDING_KINDS)


def test_each_finding_written_by_run_says_what_resolves_it(tmp_path: Path) -> None:
    findings = _run(tmp_path, STORY, "2026-02-08T00:00:00Z")
    by_kind = {f["kind"]: f for f in findings}
    assert set(by_kind) == {"missed_referral", "late_referral", "unconfirmed_referral"}
    for kind, finding in by_kind.items():
        assert finding["resolves"] == RESOLVES[kind]
    assert "referral.received" in by_kind["unconfirmed_referral"]["resolves"]
    assert "refer the case to the IOPC" in by_kind["missed_referral"]["resolves"]


def test_explain_prints_what_resolves_each_open_finding_and_not_the_resolved_ones(
    tmp_path: Path,
) -> None:
    stream = tmp_path / "events.jsonl"
    stream.write_text("".join(json.dumps(e) + "\n" for e in STORY))
    args = ["explain", "--input", str(stream), "--case", "DUR/c1", "--as-of"]
    text = run_cli([*args, "2026-02-08T00:00:00Z"]).stdout
    assert f"what resolves it: {RESOLVES['unconfirmed_referral']}" in text
    assert f"what resolves it: {RESOLVES['late_referral']}" in text
    assert f"what resolves it: {RESOLVES['missed_referral']}" not in text
    body = json.loads(run_cli([*args, "2026-02-08T00:00:00Z", "--json"]).stdout)
    assert {f["kind"]: f["resolves"] for f in body["findings"]} == {
        k: RESOLVES[k] for k in ("missed_referral", "late_referral", "unconfirmed_referral")
    }


def test_the_findings_runbook_gives_each_kind_the_same_resolve_text() -> None:
    runbook = " ".join((ROOT / "deploy" / "runbooks" / "findings.md").read_text().split())
    for kind in FINDING_KINDS:
        assert f"`{kind}`" in runbook
        assert resolves(kind) in runbook
