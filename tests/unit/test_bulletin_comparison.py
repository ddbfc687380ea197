"""The bulletin's comparison rows (section 15) under the disclosure rule."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, cast

from refmon.bulletin.comparison import comparison_rows, last_year_counts
from refmon.bulletin.disclosure import SUPPRESSED, Rule
from refmon.bulletin.oversight import Comparison, Oversight
from refmon.report_model import ForceRow


def pooled_z(this: tuple[int, int], last: tuple[int, int]) -> float:
    (x1, n1), (x2, n2) = this, last
    p = (x1 + x2) / (n1 + n2)
    return (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def rows_for(last: tuple[int, int], other_pct: Any = 40) -> list[dict[str, Any]]:
    """DUR referred 50 of 100 on time this year and `last` a year before; CLEV is in its
    group with a published rate of `other_pct`."""
    this = (50, 100)
    z = pooled_z(this, last)
    oversight = Oversight(
        comparisons={
            "DUR": Comparison(
                force="DUR",
                group="North East",
                compliance_group=0.45,
                compliance_last_year=last[0] / last[1],
                compliance_change=0.5 - last[0] / last[1],
                compliance_change_z=z,
                compliance_change_significant=abs(z) > 1.959964,
            ),
            "CLEV": Comparison(force="CLEV", group="North East"),
        },
        counts={
            "DUR": cast(
                ForceRow,
                SimpleNamespace(
                    on_time=50, due=100, mandatory=0, recorded=0, returned=0, decided=0
                ),
            )
        },
    )
    forces: list[dict[str, Any]] = [
        {
            "force": "DUR",
            "force_name": "Durham",
            "compliance_pct": 50,
            "mandatory_share_pct": None,
            "returned_share_pct": None,
        },
        {
            "force": "CLEV",
            "force_name": "Cleveland",
            "compliance_pct": other_pct,
            "mandatory_share_pct": None,
            "returned_share_pct": None,
        },
    ]
    national = {"compliance_pct": 92, "mandatory_share_pct": 11.6, "returned_share_pct": 25.6}
    return comparison_rows(forces, national, oversight, Rule())["DUR"]


def test_last_years_counts_are_found_from_its_share_and_the_changes_z() -> None:
    z = pooled_z((50, 100), (3, 10))
    assert (3, 10) in last_year_counts((50, 100), 0.3, z)
    assert last_year_counts((50, 100), 0.3, z + 0.5) == []


def test_a_significant_change_is_marked_beside_group_nation_and_last_year() -> None:
    row = rows_for((30, 100))[0]
    assert row["measure"] == "compliance"
    assert (row["force_pct"], row["group"], row["group_pct"]) == (50, "North East", 45)
    assert row["england_wales_pct"] == 92
    assert (row["last_year_pct"], row["change_points"], row["change_significant"]) == (
        30,
        20,
        True,
    )


def test_last_year_from_a_small_count_is_withheld_with_its_change() -> None:
    # 3 of 10 last year: a count of 3 could be read back from 30 % and the change's z.
    row = rows_for((3, 10))[0]
    assert (row["last_year_pct"], row["change_points"], row["change_significant"]) == (
        SUPPRESSED,
        SUPPRESSED,
        None,
    )


def test_a_group_mean_is_withheld_when_a_members_rate_is() -> None:
    row = rows_for((30, 100), other_pct=SUPPRESSED)[0]
    assert row["group_pct"] == SUPPRESSED


def test_an_outlier_table_with_no_rows_still_has_its_header() -> None:
    from refmon.bulletin.outlier_rows import OUTLIER_COLUMNS, outlier_row
    from refmon.bulletin.oversight import Outlier
    from refmon.bulletin.tables import to_csv

    assert to_csv([], columns=OUTLIER_COLUMNS).splitlines() == [
        ",".join([*OUTLIER_COLUMNS, "withheld", "secondary"])
    ]
    one = Outlier.model_validate(
        {
            "outlier_id": "compliance-2025-11",
            "force": "DUR",
            "measure": "compliance",
            "level": "alarm",
            "opened_at": "2025-12-01T00:00:00Z",
            "state": "data_check",
            "awaits": "outlier.checked",
            "owner": "watchdog",
            "due": "2025-12-16T00:00:00Z",
            "overdue": False,
            "closed_at": None,
            "close_reason": None,
            "history": [],
        }
    )
    row = outlier_row(one, {"DUR": "Durham"})
    assert tuple(row) == OUTLIER_COLUMNS
    # Due at 24:00 on 15 December: that is the last day named.
    assert row["due_by"] == "2025-12-15"
