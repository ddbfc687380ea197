"""`refmon.worklist`: a force's findings written for a person and for a spreadsheet."""

from __future__ import annotations

import json

from refmon.streams.engine.findings import Finding
from refmon.streams.wire.encode import finding_json

from refmon.spreadsheet import neutral
from refmon.worklist import COLUMNS, as_csv, parse

FINDING = Finding(
    finding_id="fnd-1",
    kind="missed_referral",
    status="open",
    force="DUR",
    case_id="c1",
    criteria=("death_or_serious_injury",),
    duty_arose_at=0,
    deadline=86_400_000_000,
    detected_at=86_400_000_000,
    summary="s",
    ruleset="ew-2020.1",
    duty_event_id="e1",
    referral_event_id=None,
)


def test_the_csv_has_a_column_for_every_field_of_the_findings_file() -> None:
    assert sorted(COLUMNS) == sorted(finding_json(FINDING))
    assert COLUMNS.index("resolves") == COLUMNS.index("summary") + 1


def test_a_case_id_a_spreadsheet_would_run_is_quoted_by_the_one_rule_every_csv_follows() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        body = {**finding_json(FINDING), "case_id": f"{start}1+1"}
        found = parse(json.dumps(body))
        assert isinstance(found, dict)
        assert neutral(f"{start}1+1") == f"'{start}1+1"
        assert f"'{start}1+1" in as_csv([found])
