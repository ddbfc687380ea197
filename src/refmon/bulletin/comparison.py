"""Each force compared with its group, England and Wales and itself a year earlier
(docs/contract.md section 15), as published rows.

The rates follow the disclosure rule of `public.py`: a force's own rate is the
published one; last year's rate and the change are withheld with it, and
whenever the report cannot vouch for last year's counts (`M_change_z` null: a
denominator under 5); a group's mean is withheld when a member's rate is, since
the mean and the others' rates would give it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from refmon.bulletin.disclosure import SECONDARY, SUPPRESSED, Rule, Value
from refmon.bulletin.oversight import Oversight
from refmon.bulletin.public import MEASURE_PARTS, Row


def _whole(share: float | None) -> int | None:
    return None if share is None else round(100 * share)


LAST_YEAR_LIMIT = 200_000
"""The largest last-year denominator searched for (a force's year is far below it)."""


def last_year_counts(
    this: tuple[int, int], share: float, z: float, limit: int = LAST_YEAR_LIMIT
) -> list[tuple[int, int]]:
    """Every (numerator, denominator) last year could have had, given this year's counts,
    last year's share and the change's z: what a reader could work out from the report's
    figures, so the rule is applied to it. Each denominator n gives x = round(share * n);
    those whose share and pooled z (section 15's formula) come out as reported remain."""
    x1, n1 = this
    n2 = np.arange(5, limit + 1, dtype=np.float64)
    x2 = np.rint(share * n2)
    keep = x2 / n2 == share
    n2, x2 = n2[keep], x2[keep]
    p = (x1 + x2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = (x1 / n1 - x2 / n2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    match = np.isclose(zs, z, rtol=1e-9, atol=1e-12)
    return [(int(x), int(n)) for x, n in zip(x2[match], n2[match], strict=True)]


def _last_year_shown(this: tuple[int, int], share: float, z: float, rule: Rule) -> bool:
    """Last year's share (and so the change) is published only when the rule would publish
    its rate for every count it could have come from; none found: withheld."""
    found = last_year_counts(this, share, z)
    return bool(found) and all(not _withheld(rule.rate(x, n)) for x, n in found)


def _withheld(value: Value) -> bool:
    return value in (SUPPRESSED, SECONDARY)


def comparison_rows(
    forces: Sequence[Row],
    national: Row,
    oversight: Oversight,
    rule: Rule,
) -> dict[str, list[Row]]:
    """Per force, one row per measure: the force, its group, England and Wales, last year."""
    groups = {code: c.group for code, c in oversight.comparisons.items()}
    out: dict[str, list[Row]] = {}
    for row in forces:
        code = str(row["force"])
        found = oversight.comparisons.get(code)
        group = None if found is None else found.group
        members = [r for r in forces if group is not None and groups.get(str(r["force"])) == group]
        rows: list[Row] = []
        for measure in MEASURE_PARTS:
            own = row[f"{measure}_pct"]
            values: Mapping[str, Any] = {} if found is None else found.model_dump()
            last_year = values.get(f"{measure}_last_year")
            change = values.get(f"{measure}_change")
            change_z = values.get(f"{measure}_change_z")
            significant = values.get(f"{measure}_change_significant")
            group_mean = values.get(f"{measure}_group")
            numerator, denominator = MEASURE_PARTS[measure]
            true = oversight.counts.get(code)
            vouched = (
                true is not None
                and not _withheld(own)
                and own is not None
                and change_z is not None
                and last_year is not None
                and _last_year_shown(
                    (getattr(true, numerator), getattr(true, denominator)),
                    last_year,
                    change_z,
                    rule,
                )
            )
            group_pct: Value = _whole(group_mean)
            if group_pct is not None and any(_withheld(r[f"{measure}_pct"]) for r in members):
                group_pct = SUPPRESSED
            rows.append(
                {
                    "force": code,
                    "force_name": row["force_name"],
                    "measure": measure,
                    "force_pct": own,
                    "group": group,
                    "group_pct": group_pct,
                    "england_wales_pct": national.get(f"{measure}_pct"),
                    "last_year_pct": None
                    if last_year is None
                    else (_whole(last_year) if vouched else SUPPRESSED),
                    "change_points": None
                    if change is None
                    else (_whole(change) if vouched else SUPPRESSED),
                    "change_significant": bool(significant) if vouched else None,
                }
            )
        out[code] = rows
    return out
