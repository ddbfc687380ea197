"""The internal worklist beside a bulletin: open findings still to act on.

For oversight staff only, never published: it names cases (by their opaque
ids), so it is written under `internal/`, apart from the public files, with a
handling marking on every row and a README saying so.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from refmon.report_model import ReportError, printable
from refmon.schemas import load_forces
from refmon.spreadsheet import neutral

__all__ = ["NOTICE", "WORKLIST", "Finding", "read_findings", "worklist_csv"]

WORKLIST = "internal/worklist.csv"
NOTICE = "internal/README.txt"
HANDLING = "OFFICIAL-SENSITIVE: internal worklist; not for publication"

Text = Annotated[str, Field(max_length=500)]


class Finding(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    finding_id: Text
    kind: Annotated[str, Field(max_length=64, pattern=r"^[a-z_]+$")]
    status: Annotated[str, Field(max_length=16)]
    force: Annotated[str, Field(max_length=16, pattern=r"^[A-Z]+$")]
    case_id: Text | None
    deadline: Text | None
    detected_at: Text
    summary: Text


def read_findings(text: str) -> list[Finding]:
    """The findings file of `refmon run --findings`, every line checked."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append(Finding.model_validate(json.loads(line, parse_constant=_refuse)))
        except (ValueError, ValidationError) as err:
            reason = (
                err.errors(include_input=False)[0]["msg"]
                if isinstance(err, ValidationError)
                else str(err).split(":")[0]
            )
            raise ReportError(f"findings line {number}: {printable(str(reason), 120)}") from None
    return found


def _refuse(name: str) -> float:
    raise ValueError(f"not a number: {name}")


def worklist_csv(findings: list[Finding], as_of: str, force: str | None) -> str:
    """Open findings as of the report, oldest first within each force: what can still be acted
    on. Resolved findings are history and stay out."""
    names = {f.code: f.name for f in load_forces()}
    rows = sorted(
        (f for f in findings if f.status == "open" and (force is None or f.force == force)),
        key=lambda f: (f.force, f.detected_at, f.finding_id),
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "handling",
            "force",
            "force_name",
            "kind",
            "case_id",
            "detected_at",
            "deadline",
            "days_open",
            "summary",
            "finding_id",
        ]
    )
    end = datetime.fromisoformat(as_of)
    for f in rows:
        days = (end - datetime.fromisoformat(f.detected_at)).days
        writer.writerow(
            [
                HANDLING,
                f.force,
                names.get(f.force, ""),
                f.kind,
                neutral(f.case_id or ""),
                f.detected_at,
                f.deadline or "",
                max(days, 0),
                neutral(f.summary),
                neutral(f.finding_id),
            ]
        )
    return out.getvalue()


def notice(as_of: str) -> str:
    return (
        f"{HANDLING}.\n\n"
        f"worklist.csv lists the findings open as of {as_of}: cases and outliers still to act on.\n"
        "It names cases and is for oversight staff only. Do not publish it, and do not copy it\n"
        "into the public folder above: only the files there have passed disclosure control.\n"
    )
