"""Reading a report's outliers, and what an outlier's state lets one record next.

Shared by `refmon outliers` and `refmon outlier record`; the rules of what each
state awaits are the engine's own (streams/engine/outliers.py), not repeated here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refmon.environment import UsageError
from refmon.streams.engine.outlier_model import AWAITS

ACTIONS = (
    "outlier.checked",
    "outlier.notified",
    "outlier.responded",
    "outlier.reviewed",
    "outlier.action_plan",
    "outlier.closed",
)
OUTCOMES = {
    "outlier.checked": ("confirmed", "data_error"),
    "outlier.reviewed": ("explained", "confirmed"),
}
REASONS = ("satisfied", "back_within_limits", "escalated", "withdrawn")


def read_outliers(path: str) -> list[dict[str, Any]]:
    """The `outliers` of a report JSON written by `refmon run` or `refmon report`."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{path} is not a report JSON") from None
    found = report.get("outliers") if isinstance(report, dict) else None
    if not isinstance(found, list):
        raise UsageError(f"{path} has no outliers list: is it a report from this refmon?")
    return found


def action_name(text: str) -> str:
    """`checked` or `outlier.checked` -> `outlier.checked`."""
    name = text if text.startswith("outlier.") else f"outlier.{text}"
    if name not in ACTIONS:
        raise UsageError(f"unknown action {text!r}; one of {', '.join(ACTIONS)}")
    return name


def refusal(outlier: dict[str, Any], action: str) -> str | None:
    """Why the outlier's current state would ignore `action`, or None if it awaits it."""
    state = outlier.get("state")
    if state == "closed":
        return f"outlier {outlier['outlier_id']} of {outlier['force']} is closed"
    awaited = next((a for name, a in AWAITS.items() if name == state), None)
    if action == "outlier.closed" or (awaited is not None and awaited.action == action):
        return None
    awaits, owner = outlier.get("awaits"), outlier.get("owner")
    return (
        f"outlier {outlier['outlier_id']} of {outlier['force']} is in state {state}: "
        f"it awaits {awaits} from the {owner} (or outlier.closed), not {action}"
    )
