"""The outlier section (docs/contract.md sections 14 and 15), on both pages: open and closed
outliers, their recorded actions, and on a force's page its comparison with its group, the
nation and itself a year earlier; the same tables as CSV files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from refmon.bulletin.cells import FORCE, STATUS_WORDS, Cell, Column, pct, table, text
from refmon.bulletin.comparison import comparison_rows
from refmon.bulletin.disclosure import Rule
from refmon.bulletin.outlier_rows import (
    HISTORY_COLUMNS,
    OUTLIER_COLUMNS,
    closed_latest_first,
    history_rows,
    open_first_overdue,
    outlier_row,
    state_counts,
)
from refmon.bulletin.oversight import MEASURE_WORDS, Oversight
from refmon.bulletin.public import Public
from refmon.bulletin.tables import DASH, percent_text, to_csv

STATE_WORDS = {
    "data_check": "data check",
    "notify": "to notify",
    "awaiting_response": "awaiting response",
    "under_review": "under review",
    "action_plan": "action plan",
    "monitoring": "monitoring",
    "closed": "closed",
}
OWNER_WORDS = {"watchdog": "IOPC", "force": "force"}
REASON_WORDS = {
    "satisfied": "satisfied",
    "back_within_limits": "back within limits",
    "escalated": "escalated",
    "withdrawn": "withdrawn",
    "data_error": "data error",
    "explained": "explained",
}
OUTCOME_WORDS = {"confirmed": "confirmed", **REASON_WORDS}
# The actions are event types (outlier.checked, ...) in the report and the CSV files; a
# reader of the page gets words: what is awaited, and what was done.
AWAIT_WORDS = {
    "outlier.checked": "data check",
    "outlier.notified": "notice to the force",
    "outlier.responded": "response",
    "outlier.reviewed": "review",
    "outlier.action_plan": "action plan",
    "outlier.closed": "decision to close",
}
ACTION_WORDS = {
    "outlier.checked": "data checked",
    "outlier.notified": "force notified",
    "outlier.responded": "force responded",
    "outlier.reviewed": "IOPC reviewed",
    "outlier.action_plan": "action plan sent",
    "outlier.closed": "closed",
}


def _awaits(r: Mapping[str, Any]) -> Cell:
    """Who owes what, and by when; the overdue ones marked in words, not colour alone."""
    if r["awaits"] is None:
        return Cell(DASH)
    who = OWNER_WORDS.get(str(r["owner"]), str(r["owner"]))
    what = AWAIT_WORDS.get(str(r["awaits"]), str(r["awaits"]))
    by = f" by {r['due_by']}" if r["due_by"] else ""
    return Cell(f"{who}: {what}{by}", status="overdue" if r["past_deadline"] else None)


def outlier_columns(with_force: bool, closed: bool) -> list[Column]:
    columns = [FORCE] if with_force else []
    columns += [
        Column("Outlier", text("outlier_id"), False),
        Column("Measure", text("measure", MEASURE_WORDS), False),
        Column("Level", text("level", STATUS_WORDS), False),
        Column("Opened", text("opened"), False),
    ]
    if closed:
        return [
            *columns,
            Column("Closed", text("closed"), False),
            Column("Reason", text("close_reason", REASON_WORDS), False),
        ]
    return [
        *columns,
        Column("State", text("state", STATE_WORDS), False),
        Column("Awaits", _awaits, False),
    ]


def comparison_columns(group: str) -> list[Column]:
    """`group`: what the force is compared with, `Region` or `Group` (most similar forces)."""

    def change(r: Mapping[str, Any]) -> Cell:
        value = r["change_points"]
        if not isinstance(value, int):
            return Cell(percent_text(value))
        return Cell(f"{value:+d} points", status="significant" if r["change_significant"] else None)

    return [
        Column("Measure", text("measure", MEASURE_WORDS), False),
        Column("This force", pct("force_pct")),
        Column(group, lambda r: Cell(percent_text(r["group_pct"]), sub=str(r["group"] or ""))),
        Column("England and Wales", pct("england_wales_pct")),
        Column("Last year", pct("last_year_pct")),
        Column("Change", change),
    ]


def history_columns(with_force: bool) -> list[Column]:
    return [
        *([FORCE] if with_force else []),
        Column("Outlier", text("outlier_id"), False),
        Column("Date", text("date"), False),
        Column("Action", text("action", ACTION_WORDS), False),
        Column("Outcome", text("outcome", OUTCOME_WORDS), False),
    ]


def group_word(oversight: Oversight) -> str:
    """What a force is compared with: its police region unless peer groups were given (a
    0.1 report names neither, and its groups are the regions)."""
    return "Group" if oversight.peer_groups == "peer_groups" else "Region"


def outlier_section(
    public: Public, oversight: Oversight, force: str | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The section's CSV files and the page's context: every force's, or `force`'s own."""
    names = {str(r["force"]): str(r["force_name"]) for r in public.forces}
    mine = [o for o in oversight.outliers if force is None or o.force == force]
    open_rows = [outlier_row(o, names) for o in open_first_overdue(mine)]
    closed_rows = [outlier_row(o, names) for o in closed_latest_first(mine)]
    history = history_rows(mine)
    rule = Rule(below=public.below)
    comparisons = comparison_rows(public.forces, public.national, oversight, rule)
    compared = [r for code in names if force in (None, code) for r in comparisons[code]]
    group = group_word(oversight)
    files = {
        "outliers-open.csv": to_csv(open_rows, columns=OUTLIER_COLUMNS),
        "outliers-closed.csv": to_csv(closed_rows, columns=OUTLIER_COLUMNS),
        "outlier-history.csv": to_csv(history, columns=HISTORY_COLUMNS),
        "comparison.csv": to_csv(compared),
    }
    context = {
        "peer_groups": oversight.peer_groups,
        "peer_groups_source": oversight.peer_groups_source,
        "states": state_counts(mine),
        "open_outliers": table(
            "Open outliers, the overdue first, then the nearest deadline",
            outlier_columns(force is None, closed=False),
            open_rows,
            "outliers-open.csv",
            lambda r: bool(r["past_deadline"]),
        ),
        "closed_outliers": table(
            "Closed outliers and why, the latest first",
            outlier_columns(force is None, closed=True),
            closed_rows,
            "outliers-closed.csv",
        ),
        "outlier_history": table(
            "Each outlier's recorded actions",
            history_columns(force is None),
            [{"force_name": names.get(str(r["force"]), r["force"]), **r} for r in history],
            "outlier-history.csv",
        ),
        "comparison": None
        if force is None
        else table(
            f"Compared with its {group.lower()}, England and Wales, and itself a year earlier",
            comparison_columns(group),
            comparisons[force],
            "comparison.csv",
            lambda r: bool(r["change_significant"]),
        ),
    }
    return files, context
