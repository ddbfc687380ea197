"""The bulletin's oversight tables (issue 20) over a simulated year with `--oversight`: the
national open outliers (overdue first) and closed ones with reasons, each force's comparison
with its group, England and Wales and last year, and its own outliers."""

from __future__ import annotations

import csv
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from tests.browser import visit
from tests.cli import run_cli
from tests.integration.test_bulletin import simulated_report

pytestmark = pytest.mark.slow

MEASURES = ("compliance", "mandatory_share", "returned_share")


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_report(tmp_path_factory.mktemp("oversight"), "--oversight")


@pytest.fixture(scope="module")
def report(report_path: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(report_path.read_text())
    return body


def _bulletin(report_path: Path, out: Path, *extra: str) -> Path:
    result = run_cli(["bulletin", "--report", str(report_path), "--output", str(out), *extra])
    assert result.status == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def national(report_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _bulletin(report_path, tmp_path_factory.mktemp("national"))


@pytest.fixture(scope="module")
def durham(report_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _bulletin(report_path, tmp_path_factory.mktemp("dur"), "--force", "DUR")


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((folder / name).read_text().splitlines()))


def test_the_national_bulletin_lists_open_outliers_overdue_first_and_closed_ones_with_reasons(
    national: Path, report: dict[str, Any]
) -> None:
    outliers = report["outliers"]
    still_open = [o for o in outliers if o["state"] != "closed"]
    closed = [o for o in outliers if o["state"] == "closed"]
    assert still_open
    assert closed
    shown = rows(national, "outliers-open.csv")
    assert {(r["force"], r["outlier_id"]) for r in shown} == {
        (o["force"], o["outlier_id"]) for o in still_open
    }
    flags = [r["past_deadline"] == "true" for r in shown]
    assert flags == sorted(flags, reverse=True)  # every overdue one before every other
    # Then what falls overdue next: the nearest deadline first, none (monitoring) last.
    due = [r["due_by"] or "9999" for r in shown if r["past_deadline"] != "true"]
    assert due == sorted(due)
    by_id = {(o["force"], o["outlier_id"]): o for o in outliers}
    for r in shown:
        o = by_id[(r["force"], r["outlier_id"])]
        assert (r["state"], r["awaits"], r["owner"]) == (o["state"], o["awaits"], o["owner"])
    ended = rows(national, "outliers-closed.csv")
    assert {(r["force"], r["outlier_id"], r["close_reason"]) for r in ended} == {
        (o["force"], o["outlier_id"], o["close_reason"]) for o in closed
    }
    assert [r["closed"] for r in ended] == sorted((r["closed"] for r in ended), reverse=True)
    page = (national / "index.html").read_text()
    assert 'id="outliers-open"' in page
    assert 'id="outliers-closed"' in page
    for o in outliers:
        assert o["outlier_id"] in page


def test_a_forces_bulletin_compares_it_with_its_group_the_nation_and_last_year(
    durham: Path, report: dict[str, Any]
) -> None:
    row = next(r for r in report["forces"] if r["force"] == "DUR")
    compared = rows(durham, "comparison.csv")
    assert [r["measure"] for r in compared] == list(MEASURES)
    assert {r["group"] for r in compared} == {row["group"]} == {"North East"}
    national = {"mandatory_share": report["national"]["mandatory_share"]}
    for r in compared:
        if r["group_pct"]:
            assert int(r["group_pct"]) == round(100 * row[f"{r['measure']}_group"])
        if r["measure"] in national:
            assert float(r["england_wales_pct"]) == round(100 * national[r["measure"]], 1)
    # DUR's own outliers, and no other force's.
    mine = {o["outlier_id"] for o in report["outliers"] if o["force"] == "DUR"}
    shown = rows(durham, "outliers-open.csv") + rows(durham, "outliers-closed.csv")
    assert {r["outlier_id"] for r in shown} == mine
    history = rows(durham, "outlier-history.csv")
    assert {r["force"] for r in history} == {"DUR"}
    assert len(history) == sum(len(o["history"]) for o in report["outliers"] if o["force"] == "DUR")
    page = (durham / "index.html").read_text()
    assert 'id="comparison"' in page
    assert "North East" in page


def test_given_peer_groups_replace_the_regions_in_the_comparison(
    report_path: Path, report: dict[str, Any], tmp_path: Path
) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("# source: test, date: 2026-01\nforce,group\nDUR,A\nMPS,A\n")
    out = _bulletin(report_path, tmp_path / "out", "--force", "DUR", "--peer-groups", str(groups))
    rates = {r["force"]: r for r in report["forces"]}
    compared = rows(out, "comparison.csv")
    assert {r["group"] for r in compared} == {"A"}
    share = next(r for r in compared if r["measure"] == "mandatory_share")
    mean = (rates["DUR"]["mandatory_share"] + rates["MPS"]["mandatory_share"]) / 2
    assert int(share["group_pct"]) == round(100 * mean)
    assert "source: test, date: 2026-01" in (out / "index.html").read_text()


@pytest.mark.parametrize("command", ["bulletin", "report"])
def test_a_bad_peer_groups_file_is_a_usage_error_naming_its_line(
    command: str, report_path: Path, tmp_path: Path
) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("force,group\nDUR,A\nNOPE,B\n")
    args = ["--peer-groups", str(groups)]
    if command == "bulletin":
        args += ["--report", str(report_path), "--output", str(tmp_path / "out")]
    result = run_cli([command, *args])
    assert result.status == 2
    assert "line 3" in result.stderr
    assert "NOPE" in result.stderr
    assert not (tmp_path / "out").exists()


PROBE = """
(() => {
  const shown = (id) => { const t = document.getElementById(id);
    return t ? {rows: t.tBodies[0].rows.length, width: t.getBoundingClientRect().width} : null; };
  return {open: shown('outliers-open'), closed: shown('outliers-closed')};
})()
"""


def test_the_outlier_tables_show_in_chromium(national: Path, report: dict[str, Any]) -> None:
    seen, found = visit((national / "index.html").as_uri(), PROBE)
    assert seen.errors == []
    assert seen.console == []
    states = [o["state"] for o in report["outliers"]]
    assert found["open"]["rows"] == sum(s != "closed" for s in states)
    assert found["closed"]["rows"] == sum(s == "closed" for s in states)
    assert found["open"]["width"] > 0
    assert found["closed"]["width"] > 0


def page_table(folder: Path, table_id: str) -> tuple[str, list[str], list[list[str]]]:
    """A table of the page as a reader sees it: its caption, headers and cells' text."""
    page = (folder / "index.html").read_text()
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, table_id
    body = found.group(1)

    def text(html: str) -> str:
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())

    caption = re.search(r"<caption>(.*?)</caption>", body, re.S)
    assert caption
    headers = [text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", body, re.S)]
    cells = [
        [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("</thead>")[1], re.S)
    ]
    return text(caption.group(1)), headers, cells


def test_the_outlier_tables_say_in_words_what_is_awaited_and_done_and_by_which_force(
    national: Path, durham: Path
) -> None:
    _, headers, cells = page_table(national, "outliers-open")
    awaits = [row[headers.index("Awaits")] for row in cells]
    assert awaits
    assert not [a for a in awaits if "outlier." in a]  # an event type is no word for a reader
    assert any(a.startswith("IOPC: data check by ") for a in awaits)
    # The national history names each outlier's force: ids repeat from force to force.
    _, headers, cells = page_table(national, "outlier-history")
    assert headers == ["Force", "Outlier", "Date", "Action", "Outcome"]
    assert all(row[0] for row in cells)
    assert not [row for row in cells if "outlier." in row[3] or "_" in row[4]]
    assert any(row[3:] == ["data checked", "confirmed"] for row in cells)
    # A force's own history is all its own: no force column.
    _, headers, _ = page_table(durham, "outlier-history")
    assert headers == ["Outlier", "Date", "Action", "Outcome"]


def test_a_comparison_with_the_police_regions_calls_the_group_a_region(
    durham: Path, report_path: Path, tmp_path: Path
) -> None:
    caption, headers, cells = page_table(durham, "comparison")
    assert "Region" in headers
    assert "Group" not in headers
    assert caption.startswith("Compared with its region, England and Wales")
    assert all(row[headers.index("Region")].endswith("North East") for row in cells)
    groups = tmp_path / "groups.csv"
    groups.write_text("force,group\nDUR,A\nMPS,A\n")
    out = _bulletin(report_path, tmp_path / "out", "--force", "DUR", "--peer-groups", str(groups))
    caption, headers, _ = page_table(out, "comparison")
    assert "Group" in headers
    assert caption.startswith("Compared with its group, England and Wales")
