"""A finding as the findings topic holds it (encode.py's `finding_json`), read back.

A worker that takes a force over starts from what was last announced for it
(streams/worker/announced.py), so it needs the finding, not only its bytes.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, cast

from refmon.streams.engine.findings import Finding
from refmon.streams.engine.model import Status
from refmon.streams.engine.timeutil import to_micros
from refmon.streams.engine.vocabulary import FindingKind

_KIND = re.compile(rb'"kind":"([a-z_]+)"')
_HEAD = 96
"""The encoder writes `finding_id` (24 characters) then `kind`: both within this many bytes."""


def finding_kind(value: bytes) -> str | None:
    """The kind, from the head of the value alone: a case finding need not be parsed."""
    match = _KIND.search(value, 0, _HEAD)
    if match is not None:
        return match.group(1).decode()
    try:
        body = json.loads(value)
    except ValueError:
        return None
    kind = body.get("kind") if isinstance(body, dict) else None
    return kind if isinstance(kind, str) else None


def _micros(text: Any) -> int | None:
    return None if text is None else to_micros(datetime.fromisoformat(str(text)))


def decode_finding(value: bytes) -> Finding | None:
    """The finding, without its `change`; None if it is not one this encoder wrote."""
    try:
        body = json.loads(value)
        detected = _micros(body["detected_at"])
        if detected is None:
            return None
        return Finding(
            finding_id=str(body["finding_id"]),
            kind=cast(FindingKind, body["kind"]),
            status=cast(Status, body["status"]),
            force=str(body["force"]),
            case_id=body["case_id"],
            criteria=tuple(body["criteria"]),
            duty_arose_at=_micros(body["duty_arose_at"]),
            deadline=_micros(body["deadline"]),
            detected_at=detected,
            summary=str(body["summary"]),
            ruleset=str(body["ruleset"]),
            duty_event_id=body["duty_event_id"],
            referral_event_id=body["referral_event_id"],
        )
    except (ValueError, KeyError, TypeError):
        return None
