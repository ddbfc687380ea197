"""A report (`refmon run --report`, `refmon report`) read back and checked as a whole.

`refmon bulletin` and `refmon diff` read reports that may have been edited,
truncated or forged. Every one is held to this model before anything is made
from it: wrong types, non-finite numbers, repeated forces and nesting too deep
for JSON become one `ReportError` naming the field, never a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

__all__ = [
    "ForceRow",
    "Month",
    "National",
    "Report",
    "ReportError",
    "parse_report",
    "printable",
]

MAX_DEPTH = 16
"""A report nests five levels deep; anything far deeper is not a report (and would
exhaust Python's recursion limit in json and pydantic)."""
MAX_BYTES = 256 * 1024 * 1024


class ReportError(ValueError):
    """A report that cannot be used; the message names the field at fault."""


def _instant(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a time without an offset")
    return text


Instant = Annotated[str, Field(max_length=40), AfterValidator(_instant)]
Count = Annotated[StrictInt, Field(ge=0, le=10**12)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Real = Annotated[float, Field(allow_inf_nan=False)]
Funnel = Literal["ok", "alert", "alarm", "insufficient_data"]
Timeliness = Literal["ok", "signal", "insufficient_data"]
Code = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Z]+$")]
Kind = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class _Strict(BaseModel):
    # Unknown fields are ignored (a newer refmon may add some); known ones must be right.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class Month(_Strict):
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    start: Instant = Field(alias="from")
    end: Instant = Field(alias="to")
    partial: StrictBool
    recorded: Count
    mandatory: Count
    mandatory_share: Share | None
    due: Count
    on_time: Count
    late: Count
    overdue: Count
    pending: Count
    compliance: Share | None
    referred: Count | None = None
    referral_delay_median_hours: Annotated[Real, Field(ge=0)] | None = None
    referral_delay_p90_hours: Annotated[Real, Field(ge=0)] | None = None


class PathPoint(_Strict):
    deadline: Instant
    cusum: Annotated[Real, Field(ge=0)]
    signal: StrictBool


class ForceRow(_Strict):
    force: Code
    recorded: Count
    mandatory: Count
    due: Count
    on_time: Count
    late: Count
    overdue: Count
    pending: Count
    voluntary: Count
    compliance: Share | None
    compliance_z: Real | None
    compliance_status: Funnel
    mandatory_share: Share | None
    mandatory_share_z: Real | None
    mandatory_share_status: Funnel
    timeliness_cusum: Annotated[Real, Field(ge=0)] | None
    timeliness_signals: Count | None
    timeliness_signalled_at: Instant | None
    timeliness_status: Timeliness
    decided: Count
    returned: Count
    decisions: dict[Kind, Count]
    returned_share: Share | None
    returned_share_z: Real | None
    returned_share_status: Funnel
    open_findings: dict[Kind, Count]
    monthly: list[Month]
    timeliness_path: list[PathPoint]
    # Reports before the volume check (docs/volume.md) have neither field.
    volume_status: Literal["ok", "anomaly", "insufficient_data"] = "insufficient_data"
    volume_flagged_months: list[Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$")]] = []


class National(_Strict):
    due: Count
    on_time: Count
    compliance: Share | None
    mandatory_share: Share | None
    compliance_target: Share | None
    compliance_phi: Real | None
    compliance_tau2: Annotated[Real, Field(ge=0)] | None
    mandatory_share_target: Share | None
    mandatory_share_phi: Real | None
    mandatory_share_tau2: Annotated[Real, Field(ge=0)] | None
    timeliness_p0: Share | None = None
    timeliness_p1: Share | None = None
    timeliness_h: Annotated[Real, Field(gt=0)]
    returned_share: Share | None
    returned_share_target: Share | None
    returned_share_phi: Real | None
    returned_share_tau2: Annotated[Real, Field(ge=0)] | None
    monthly: list[Month]


class Events(_Strict):
    valid: Count
    invalid: Count
    duplicate: Count


class Report(_Strict):
    as_of: Instant
    window_days: Annotated[StrictInt, Field(ge=1, le=100_000)]
    ruleset: Annotated[str, Field(min_length=1, max_length=200)]
    events: Events
    national: National
    forces: list[ForceRow]

    @field_validator("forces")
    @classmethod
    def _each_force_once(cls, rows: list[ForceRow]) -> list[ForceRow]:
        seen: set[str] = set()
        for i, row in enumerate(rows):
            if row.force in seen:
                raise ValueError(f"force {row.force} repeated (row {i})")
            seen.add(row.force)
        return rows


def _depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings, found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ReportError(f"not a number: {name} (reports hold finite numbers only)")


def printable(text: str, limit: int = 64) -> str:
    """Text from a file, safe to print: control characters escaped, cut to `limit`."""
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)


def _where(error: Any) -> str:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else f".{printable(str(part))}"
    return path.lstrip(".") or "the report"


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "is missing (a report from an older refmon? make it again)"
    text = str(error["msg"])
    return text[:1].lower() + text[1:]


def parse_report(text: str) -> Report:
    """Parse and check a whole report; raises ReportError naming the first field at fault."""
    if len(text) > MAX_BYTES:
        raise ReportError(f"larger than {MAX_BYTES // (1024 * 1024)} MB: not a report")
    if _depth(text) > MAX_DEPTH:
        raise ReportError(f"nested more than {MAX_DEPTH} levels deep: not a report")
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except ValueError as err:
        if isinstance(err, ReportError):
            raise
        raise ReportError(f"not JSON: {err}") from None
    if not isinstance(body, dict):
        raise ReportError("not a report: the top level is not a JSON object")
    if body.get("as_of", "") is None:
        raise ReportError("as_of is null: the run saw no events")
    try:
        return Report.model_validate(body)
    except ValidationError as err:
        first = err.errors(include_input=False)[0]
        count = err.error_count()
        more = f" (and {count - 1} more problem(s))" if count > 1 else ""
        raise ReportError(f"{_where(first)} {_message(first)}{more}") from None
