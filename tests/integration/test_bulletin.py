"""`refmon bulletin` over a simulated national year, opened in a real headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.image as mpimg
import pytest

from refmon.bulletin.tables import DASH
from tests.browser import visit
from tests.cli import run_cli

pytestmark = pytest.mark.slow

# The README's demo: every kind of flag shows on some funnel or chart.
SIMULATE = [
    "simulate",
    "--days",
    "365",
    "--under-refer",
    "DUR,LINCS",
    "--late",
    "NBR:0.4",
    "--under-categorise",
    "SUS:0.6",
    "--deteriorate",
    "HERTS:2025-10-01:0.3",
    "--over-refer",
    "NOTTS:0.1",
    "-q",
]
AS_OF = "2026-01-01T00:00:00Z"
"""The month end after the simulated year: a bulletin is cut at a month end."""
MEASURES = ("compliance", "mandatory_share", "returned_share")
SMALL = re.compile(r"[1-7]")
COUNT_HEADERS = {
    "Recorded",
    "Mandatory",
    "Due",
    "On time",
    "Late",
    "Overdue",
    "Pending",
    "Decided",
    "Open findings",
}


def simulated_report(folder: Path, *extra: str) -> Path:
    """The report of the README's demo year (`extra`: more `refmon simulate` flags)."""
    events, report = folder / "events.jsonl", folder / "report.json"
    assert run_cli([*SIMULATE, *extra, "--output", str(events)]).status == 0
    args = ["run", "--input", str(events), "--as-of", AS_OF, "--report", str(report), "-q"]
    assert run_cli(args).status == 0
    return report


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_report(tmp_path_factory.mktemp("bulletin"))


@pytest.fixture(scope="module")
def report(report_path: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(report_path.read_text())
    return body


@pytest.fixture(scope="module")
def national(report_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("national")
    result = run_cli(["bulletin", "--report", str(report_path), "--output", str(out)])
    assert result.status == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def own(report_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("herts")
    args = ["bulletin", "--report", str(report_path), "--output", str(out), "--force", "HERTS"]
    assert run_cli(args).status == 0
    return out


# Per funnel: the ids of its points and labels, and whether any two labels overlap on screen.
PROBE = """
(() => {
  const out = {};
  for (const m of __MEASURES__) {
    const fig = document.getElementById('funnel-' + m);
    const ids = (kind) => [...fig.querySelectorAll(`[id^="rm-${m}-${kind}-"]`)]
      .map(e => e.id.slice(`rm-${m}-${kind}-`.length));
    const boxes = [...fig.querySelectorAll(`[id^="rm-${m}-label-"] text`)]
      .map(e => e.getBoundingClientRect());
    let overlaps = 0;
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps++;
    }));
    out[m] = {points: ids('point'), labels: ids('label'), overlaps,
              visible: boxes.every(r => r.width > 0 && r.height > 0)};
  }
  return {funnels: out, svgs: document.querySelectorAll('svg').length,
          title: document.title, tables: document.querySelectorAll('table').length};
})()
""".replace("__MEASURES__", json.dumps(list(MEASURES)))


def flagged(report: dict[str, Any], measure: str) -> set[str]:
    return {r["force"] for r in report["forces"] if r[f"{measure}_status"] in {"alert", "alarm"}}


def plotted(folder: Path, measure: str) -> set[str]:
    """The forces a funnel shows: those whose rate is published (docs/disclosure.md)."""
    rows = csv.DictReader((folder / "forces.csv").read_text().splitlines())
    return {
        r["force"]
        for r in rows
        if r[f"{measure}_pct"] != "" and r[f"{measure}_status"] != "insufficient_data"
    }


def test_the_page_loads_in_chromium_without_errors_or_requests_and_shows_every_force(
    national: Path, report: dict[str, Any], tmp_path: Path
) -> None:
    page = (national / "index.html").as_uri()
    seen, found = visit(page, PROBE)
    assert seen.errors == [], seen.errors
    assert seen.console == []
    # The page itself, and nothing else: no script, font, stylesheet or image fetched.
    assert seen.requests == [page]
    assert found["svgs"] >= 7
    for measure in MEASURES:
        funnel = found["funnels"][measure]
        assert set(funnel["points"]) == plotted(national, measure)
        assert len(funnel["points"]) >= 22, measure
        assert set(funnel["labels"]) == flagged(report, measure) & plotted(national, measure)
        assert funnel["visible"]
        assert funnel["overlaps"] == 0, measure
    assert flagged(report, "compliance") >= {"DUR", "LINCS", "NBR"}
    shot = tmp_path / "bulletin.png"
    shot.write_bytes(seen.screenshot)
    pixels = mpimg.imread(io.BytesIO(seen.screenshot))
    assert pixels.shape[:2] == (2000, 1280)
    # Not blank: many colours, and no colour covering nearly everything.
    flat = pixels[..., :3].reshape(-1, 3)
    assert pixels.std() > 0.1
    assert len({tuple(p) for p in flat[::97]}) > 50


class _Cells(HTMLParser):
    """The cells of the page's tables that hold counts, by their column's header."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._headers: list[str] = []
        self._column = 0
        self._in: list[str] | None = None
        self._head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "thead":
            self._headers, self._head = [], True
        elif tag == "tr":
            self._column = 0
        elif tag in {"td", "th"}:
            self._in = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "thead":
            self._head = False
        elif tag in {"td", "th"} and self._in is not None:
            text = "".join(self._in).strip()
            if self._head:
                self._headers.append(text)
            elif self._column < len(self._headers) and self._headers[self._column] in COUNT_HEADERS:
                self.cells.append(text)
            self._column += 1
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._in.append(data)


COUNT_COLUMNS = re.compile(
    r"^(recorded|mandatory|voluntary|due|on_time|late|overdue|pending|decided|returned|referred"
    r"|decisions\..*|open_findings\..*)$"
)


def published_counts(folder: Path) -> list[str]:
    """Every count the bulletin publishes: on the page and in the CSV files."""
    parser = _Cells()
    parser.feed((folder / "index.html").read_text())
    cells = list(parser.cells)
    for path in folder.glob("*.csv"):
        for row in csv.DictReader(path.read_text().splitlines()):
            cells += [v for k, v in row.items() if COUNT_COLUMNS.match(k)]
    return cells


@pytest.mark.parametrize("which", ["national", "own"])
def test_every_published_count_is_zero_suppressed_or_rounded_to_five(
    which: str, request: pytest.FixtureRequest
) -> None:
    folder: Path = request.getfixturevalue(which)
    cells = published_counts(folder)
    assert len(cells) > 100
    shown = [c.replace(",", "") for c in cells if c not in {"", "<8", "[s]", DASH}]
    assert [c for c in shown if SMALL.fullmatch(c) or int(c) % 5] == []
    assert "<8" in cells  # there were small counts to suppress
    assert "" in cells


def test_small_counts_are_suppressed_at_the_threshold_given(
    report_path: Path, tmp_path: Path
) -> None:
    args = ["bulletin", "--report", str(report_path), "--output", str(tmp_path)]
    assert run_cli([*args, "--suppress-below", "10"]).status == 0
    cells = published_counts(tmp_path)
    assert [c for c in cells if re.fullmatch(r"[1-9]", c)] == []
    assert "<10" in cells
    result = run_cli([*args, "--suppress-below", "4"])
    assert result.status == 2
    assert "counts from 1 to 4 are never published" in result.stderr


def test_the_csv_files_have_names_beside_codes_numeric_columns_and_a_withheld_column(
    national: Path, report: dict[str, Any]
) -> None:
    forces = list(csv.DictReader((national / "forces.csv").read_text().splitlines()))
    assert [r["force"] for r in forces][:1] == ["SUS"]  # flagged first, the worst first
    mps = next(r for r in forces if r["force"] == "MPS")
    assert mps["force_name"] == "Metropolitan Police Service"
    source = next(r for r in report["forces"] if r["force"] == "MPS")
    assert abs(int(mps["recorded"]) - source["recorded"]) <= 2
    assert int(mps["compliance_pct"]) == round(100 * source["compliance"])
    assert float(mps["compliance_lower_998_pct"]) < float(mps["compliance_lower_95_pct"])
    for name in ("forces.csv", "monthly.csv", "national-monthly.csv", "cusum.csv"):
        for row in csv.DictReader((national / name).read_text().splitlines()):
            empty = {k for k, v in row.items() if v == "" and COUNT_COLUMNS.match(k)}
            assert empty <= {*row["withheld"].split(), *row["secondary"].split()}, (name, row)
            for key, value in row.items():
                if COUNT_COLUMNS.match(key) and value:
                    int(value)  # a number, never "<8" in a numeric column
    sus = next(r for r in forces if r["force"] == "SUS")
    assert "late" in sus["withheld"].split()
    assert sus["late"] == ""
    cusum = next(csv.reader((national / "cusum.csv").read_text().splitlines()))
    assert cusum == ["force", "force_name", "month", "cusum", "signalled", "withheld", "secondary"]


def test_a_forces_own_bulletin_shows_its_series_and_picks_it_out_on_every_funnel(
    own: Path,
) -> None:
    page = (own / "index.html").read_text()
    assert "Hertfordshire Constabulary: mandatory referrals" in page
    for measure in MEASURES:
        assert f'id="rm-{measure}-label-HERTS"' in page
    assert 'id="force-cusum"' in page
    assert "▼ signal" in page
    rows = list(csv.DictReader((own / "monthly.csv").read_text().splitlines()))
    assert {r["force"] for r in rows} == {"HERTS"}


def test_an_unknown_force_or_a_report_without_series_is_a_usage_error(
    report_path: Path, report: dict[str, Any], tmp_path: Path
) -> None:
    result = run_cli(
        ["bulletin", "--report", str(report_path), "--output", str(tmp_path), "--force", "XYZ"]
    )
    assert (result.status, result.stderr) == (
        2,
        "refmon: error: --force 'XYZ': not a force in the report\n",
    )
    old = tmp_path / "old.json"
    old.write_text(
        json.dumps(
            {**report, "forces": [{k: v for k, v in report["forces"][0].items() if k != "monthly"}]}
        )
    )
    result = run_cli(["bulletin", "--report", str(old), "--output", str(tmp_path / "out")])
    assert result.status == 2
    assert "forces[0].monthly is missing" in result.stderr


def test_refmon_run_imports_neither_matplotlib_nor_jinja2() -> None:
    code = (
        "import sys; from refmon.cli import main; "
        "main(['run', '--input', '/dev/null', '--report', '/dev/null', '-q']); "
        "print(sorted(m for m in ('matplotlib', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


OUTLIER_TABLES = {"outliers-open", "outliers-closed", "outlier-history"}


def _ids(folder: Path, tag: str) -> list[str]:
    return re.findall(rf'<{tag} id="([^"]+)"', (folder / "index.html").read_text())


def _tables(folder: Path) -> tuple[list[str], set[str]]:
    """The page's tables: the others in order, and those of the outlier section."""
    tables = _ids(folder, "table")
    return [t for t in tables if t not in OUTLIER_TABLES], set(tables) & OUTLIER_TABLES


def test_each_page_has_every_part_its_modules_make(
    national: Path, own: Path, report: dict[str, Any]
) -> None:
    # The national page: funnels, national trends and the every-force grids; every force's
    # table and months; the outlier section (outliers open at month ends even with no
    # --oversight, though nobody acts on them).
    funnels = [f"funnel-{m}" for m in MEASURES]
    assert _ids(national, "figure") == [
        *funnels,
        "national-compliance",
        "national-mandatory_share",
        "grid-compliance",
        "grid-cusum",
    ]
    tables, outliers = _tables(national)
    assert tables[:2] == ["forces", "national-months"]
    assert sorted(tables[2:]) == sorted(f"months-{r['force']}" for r in report["forces"])
    assert "outliers-open" in outliers
    # A force's page: its own series, delays and CUSUM, the funnels with it picked out, its
    # row, its comparison and its months, and its own outliers.
    assert _ids(own, "figure") == [
        "force-compliance",
        "force-mandatory_share",
        "force-delays",
        "force-cusum",
        *funnels,
    ]
    tables, outliers = _tables(own)
    assert tables == ["force", "comparison", "months"]
    assert "outliers-open" in outliers
