"""A small world with one known outlier: DUR refers none of its November 2025 cases.

Six forces record ten mandatory cases each in November 2025 (a serious assault,
so the duty arises on recording); the five others refer every one the same day,
DUR none. At the review point 2025-12-01T00:00 Europe/London (= 00:00Z, GMT) DUR's
compliance is 0 of 10 against 50 of 60 nationally: an alarm, so outlier
`compliance-2025-11` opens there, in state `data_check`.
"""

from __future__ import annotations

from typing import Any

from tests.factories import event, recorded, referred

OTHERS = ("ASP", "BEDS", "CAMBS", "CHES", "CLEV")
OPENED_AT = "2025-12-01T00:00:00Z"
OUTLIER = "compliance-2025-11"


def background() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for force in ("DUR", *OTHERS):
        for day in range(1, 11):
            at = f"2025-11-{day:02d}T10:00:00Z"
            case = f"n{day}"
            events.append(
                recorded(at, case=case, force=force, categories=["serious_assault"])
                | {"event_id": f"{force}-r{day}"}
            )
            if force != "DUR":
                events.append(
                    referred(f"2025-11-{day:02d}T15:00:00Z", case=case, force=force)
                    | {"event_id": f"{force}-x{day}"}
                )
    return events


def action(
    event_type: str, at: str, event_id: str, outlier: str = OUTLIER, **payload: str
) -> dict[str, Any]:
    return event(event_type, at, case=outlier, force="DUR", payload=payload, event_id=event_id)
