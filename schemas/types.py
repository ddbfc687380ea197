"""Field types shared by the envelope and the payloads."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema
from refmon.schemas.forces import force_codes, load_forces
from refmon.schemas.rejections import echo

EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
CaseRef = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]

# Exactly the JSON integer 1: `Literal[1]` also takes `true`, `1.0` and `1e0`, which a strict int
# refuses. (JSON Schema cannot tell 1.0 from 1: there it stays `const: 1`.)
SchemaVersion = Annotated[int, Field(ge=1, le=1), WithJsonSchema({"const": 1, "type": "integer"})]

# RFC 3339 date-time with a mandatory offset (Z or +hh:mm); no naive times.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(value: str) -> datetime:
    if not _RFC3339.match(value):
        if re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?$", value):
            raise ValueError("timestamp has no UTC offset (add Z or +hh:mm)")
        raise ValueError("not an RFC 3339 date-time with an offset")
    # RFC 3339 allows lower-case t and z, which fromisoformat does not; it cuts
    # fractions beyond microseconds itself (truncating, not rounding).
    text = value if value.isupper() or ("z" not in value and "t" not in value) else value.upper()
    try:
        return datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"not a valid date-time: {err}") from None


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("timestamp must be a string (RFC 3339 with an offset)")
    return parse_timestamp(value)


Timestamp = Annotated[
    datetime,
    PlainValidator(_timestamp),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": _RFC3339.pattern,
            "description": "RFC 3339 with an offset (Z or +hh:mm); event time",
        }
    ),
]


def _known_force(code: str) -> str:
    if code not in force_codes():
        raise ValueError(f"unknown force '{echo(code)}' (not in forces.csv)")
    return code


def _force_enum(schema: dict[str, Any]) -> None:
    # Filled in when a schema is generated, so nothing is read at import time.
    schema["enum"] = [f.code for f in load_forces()]


ForceCode = Annotated[str, AfterValidator(_known_force), Field(json_schema_extra=_force_enum)]
