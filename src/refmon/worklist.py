"""A force's findings as messages on its alerts topic or lines of a findings file: read,
checked, folded to each finding's latest state, filtered and written for a person.

Pure functions: the commands (`refmon alerts`, `refmon findings`) do the reading.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from refmon.spreadsheet import neutral
from refmon.streams.engine.model import Finding
from refmon.streams.engine.resolves import resolves

ZONE: Final = ZoneInfo("Europe/London")
REQUIRED: Final = ("finding_id", "kind", "status", "force", "detected_at", "summary")
_FIELDS: Final = Finding._fields
_SUMMARY: Final = _FIELDS.index("summary") + 1
COLUMNS: Final = (*_FIELDS[:_SUMMARY], "resolves", *_FIELDS[_SUMMARY:])
"""CSV columns: the finding's fields, as `refmon run --findings` writes them (criteria joined
by `;`), with what resolves it after its summary."""
STATUSES: Final = ("open", "resolved", "all")


class Rejected(NamedTuple):
    """A message or line that is not a finding: why, never what it held."""

    reason: str


def parse(raw: bytes | str) -> dict[str, Any] | Rejected:
    """A finding (with its `change` if it came from an alerts topic), or why not.

    A finding written before findings carried `resolves` (refmon 0.1) gets it
    from its kind.
    """
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return Rejected("not JSON")
    if not isinstance(body, dict):
        return Rejected("not a JSON object")
    missing = [k for k in REQUIRED if not isinstance(body.get(k), str)]
    if missing:
        return Rejected(f"not a finding: no {', '.join(missing)}")
    if body["status"] not in ("open", "resolved"):
        return Rejected("not a finding: status is neither open nor resolved")
    body.setdefault("resolves", resolves(body["kind"]))
    return body


def fold(findings: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each finding's latest state: the last message for its id (the topic's own order),
    as `refmon run --findings` writes it (without the alert's `change`)."""
    latest: dict[str, dict[str, Any]] = {}
    for finding in findings:
        latest[finding["finding_id"]] = {k: v for k, v in finding.items() if k != "change"}
    return latest


def select(
    findings: Iterable[dict[str, Any]],
    kinds: Iterable[str] = (),
    status: str = "open",
    force: str | None = None,
) -> list[dict[str, Any]]:
    """Those of the kinds (all if none) and status (`all` for both): oldest deadline first,
    then by force, case and kind."""
    wanted = set(kinds)
    chosen = [
        f
        for f in findings
        if (not wanted or f["kind"] in wanted)
        and (status == "all" or f["status"] == status)
        and (force is None or f["force"] == force)
    ]
    return sorted(chosen, key=_order)


def _order(f: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (f.get("deadline") or f["detected_at"], f["force"], f.get("case_id") or "", f["kind"])


def local(utc: str | None) -> str:
    """`2026-02-04T00:00:00Z` as `2026-02-04 00:00 GMT` (Europe/London, as deadlines are set)."""
    if not utc:
        return "-"
    moment = datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(ZONE)
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def line(finding: Mapping[str, Any]) -> str:
    """One line a person can act on: what changed, which case, why, by when, what resolves it."""
    # An alert says what changed (opened, resolved, ...); a worklist entry where it stands.
    head = finding.get("change") or finding["status"]
    case = finding.get("case_id")
    where = f"{finding['force']}/{case}" if case else f"{finding['force']} (the force)"
    criteria = ", ".join(finding.get("criteria") or ()) or "-"
    text = (
        f"{local(finding['detected_at'])}  {head} {finding['kind']}  {where}  "
        f"criteria {criteria}; due before {local(finding.get('deadline'))}"
    )
    # A resolved finding needs nothing more; saying what would resolve it would mislead.
    return text if finding["status"] == "resolved" else f"{text}  to resolve: {finding['resolves']}"


def _cell(value: Any) -> Any:
    return neutral(value) if isinstance(value, str) else value


def as_csv(findings: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for f in findings:
        row = {**f, "criteria": ";".join(f.get("criteria") or ())}
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return out.getvalue()


def as_jsonl(findings: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in findings)
