"""Why an input line was rejected: a short reason code for metrics, a message for people."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

REASON_CODES = (
    "not_json",
    "not_object",
    "invalid_utf8",
    "too_long",
    "unknown_field",
    "missing_field",
    "unknown_force",
    "naive_timestamp",
    "bad_timestamp",
    "unknown_event_type",
    "unsupported_schema_version",
    "invalid_value",
    "force_mismatch",
    # A key repeated within one JSON object (parsers differ on which one wins).
    "duplicate_key",
    # The same id from the same source with different content (docs/contract.md section 7).
    "conflicting_duplicate",
    # occurred_at out of range (docs/contract.md section 13).
    "future_timestamp",
    "implausible_timestamp",
    # Judging the event raised: the event is kept, the run goes on.
    "internal_error",
    # A new event for a case a Kafka worker retired long ago (streams/engine/retirement.py).
    "retired_case",
)


ECHO_CHARS = 64
"""How much of an input value or key a message may quote."""
MESSAGE_CHARS = 512
"""A bound on the rest of a message (pydantic's own texts list what was expected)."""
CUT = "..."


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """Input text made safe to print: cut after `limit` characters, and every character that
    is not printable (terminal escapes, bidi overrides, newlines, lone surrogates) escaped."""
    if len(text) <= limit and text.isprintable():
        return text  # the common case, at the cost of one C call
    cut = text[:limit]
    if not cut.isprintable():
        cut = "".join(c if c.isprintable() else _escaped(c) for c in cut)
    return cut + CUT if len(text) > limit else cut


def _escaped(char: str) -> str:
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    """One of REASON_CODES: low-cardinality, safe as a metric label."""
    message: str
    """Names the field and the rule; quotes of the input (a field path, an unknown force) are
    escaped and cut short by `echo`, so it is safe on a terminal and in a log."""


def _path(error: ErrorDetails) -> str:
    loc = list(error["loc"])
    # A tagged union puts the tag first (`case.recorded`); the field path is what follows.
    if loc and isinstance(loc[0], str) and "." in loc[0]:
        loc = loc[1:]
    # Keys come from the input: an unknown one is named, escaped and cut short.
    return ".".join(echo(str(p)) for p in loc) or "(event)"


def _code(error: ErrorDetails, path: str) -> str:
    kind = error["type"]
    message = error["msg"]
    if kind == "json_invalid":
        return "not_json"
    if kind in {"model_type", "model_attributes_type", "dict_type"} and path == "(event)":
        return "not_object"
    if kind == "extra_forbidden":
        return "unknown_field"
    if kind == "missing":
        return "unknown_event_type" if path == "event_type" else "missing_field"
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        return "unknown_event_type" if kind == "union_tag_invalid" else "missing_field"
    if path == "force":
        return "unknown_force"
    if path == "schema_version":
        return "unsupported_schema_version"
    if path == "occurred_at":
        return "naive_timestamp" if "no UTC offset" in message else "bad_timestamp"
    return "invalid_value"


def _describe(error: ErrorDetails, path: str) -> str:
    kind = error["type"]
    if kind == "json_invalid":
        detail = error.get("ctx", {}).get("error", "parse error")
        return f"not valid JSON: {detail}"
    if kind == "union_tag_invalid":
        expected = error.get("ctx", {}).get("expected_tags", "")
        return f"event_type: unknown type (expected one of {expected})"
    if kind == "union_tag_not_found":
        return "event_type: field required"
    if path == "schema_version" and kind != "missing":
        return "schema_version: must be the JSON integer 1"
    message = echo(error["msg"].removeprefix("Value error, "), MESSAGE_CHARS)
    return f"{path}: {message}"


def reject(error: ValidationError) -> Rejection:
    """Summarise a validation error by its first problem (and how many more there are)."""
    problems = error.errors(include_url=False, include_input=False)
    first = problems[0]
    path = _path(first)
    text = _describe(first, path)
    if len(problems) > 1:
        text += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return Rejection(_code(first, path), text)
