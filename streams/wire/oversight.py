"""The report's outliers and peer comparisons as JSON (docs/contract.md sections 14 and 15)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from refmon.streams.engine.outlier_model import Action, Outlier
from refmon.streams.engine.peers import COMPARED, ForceComparison, PeerGroups
from refmon.streams.engine.timeutil import format_utc


def _utc(micros: int | None) -> str | None:
    return None if micros is None else format_utc(micros)


def _action_json(action: Action) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": action.event_id,
        "event_type": action.event_type,
        "occurred_at": format_utc(action.occurred_at),
    }
    if action.detail is not None:
        body["reason" if action.event_type == "outlier.closed" else "outcome"] = action.detail
    return body


def outlier_json(outlier: Outlier) -> dict[str, Any]:
    return {
        "outlier_id": outlier.outlier_id,
        "force": outlier.force,
        "measure": outlier.measure,
        "level": outlier.level,
        "z": outlier.z,
        "opened_at": format_utc(outlier.opened_at),
        "state": outlier.state,
        "awaits": outlier.awaits,
        "owner": outlier.owner,
        "due": _utc(outlier.due),
        "overdue": outlier.overdue,
        "closed_at": _utc(outlier.closed_at),
        "close_reason": outlier.close_reason,
        "ignored_actions": outlier.ignored_actions,
        "history": [_action_json(a) for a in outlier.history],
    }


def comparison_json(comparison: ForceComparison | None) -> dict[str, Any]:
    """A force row's section 15 fields: `group` and, per measure M, `M_group`,
    `M_last_year`, `M_change`, `M_change_z` and `M_change_significant`."""
    body: dict[str, Any] = {"group": None if comparison is None else comparison.group}
    for measure in COMPARED:
        found = None if comparison is None else comparison.measures.get(measure)
        body[f"{measure}_group"] = None if found is None else found.group
        body[f"{measure}_last_year"] = None if found is None else found.last_year
        body[f"{measure}_change"] = None if found is None else found.change
        body[f"{measure}_change_z"] = None if found is None else found.change_z
        body[f"{measure}_change_significant"] = None if found is None else found.change_significant
    return body


def oversight_json(outliers: tuple[Outlier, ...], groups: PeerGroups | None) -> dict[str, Any]:
    """The report's top-level section 14/15 keys."""
    return {
        "peer_groups": None if groups is None else groups.kind,
        "peer_groups_source": None if groups is None else groups.source,
        "outliers": [outlier_json(o) for o in outliers],
    }


def with_comparisons(
    rows: list[dict[str, Any]], comparisons: Mapping[str, ForceComparison]
) -> list[dict[str, Any]]:
    for row in rows:
        row.update(comparison_json(comparisons.get(row["force"])))
    return rows
