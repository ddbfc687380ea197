"""The documentation can be found and followed: links resolve, the README stays short, the
code cites sections of the contract that exist, and generated files are marked as such."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator
from pathlib import Path

from refmon.schemas.export import schema_files

from refmon.ops.artifacts import artifact_files

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONTRACT = DOCS / "contract.md"

# Beyond this a newcomer stops reading; the rest belongs in docs/ (issue 19).
README_MAX_LINES = 260

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
_EXTERNAL = ("http://", "https://", "mailto:")


def _prose(text: str) -> str:
    """Markdown without code blocks, where `[a](b)` and `# a` are not links or headings."""
    return _FENCE.sub("", text)


def _anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to
    hyphens, and a repeated heading numbered (-1, -2, ...)."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in _HEADING.findall(_prose(path.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _documents() -> list[Path]:
    runbooks = sorted((ROOT / "deploy" / "runbooks").glob("*.md"))
    return [README, *sorted(DOCS.glob("*.md")), *runbooks]


def _broken_links(document: Path, root: Path = ROOT) -> Iterator[str]:
    text = _CODE_SPAN.sub("", _prose(document.read_text(encoding="utf-8")))
    for target in _LINK.findall(text):
        if target.startswith(_EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        if not linked.exists():
            yield f"{document.relative_to(root)}: {target} (no such file)"
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            yield f"{document.relative_to(root)}: {target} (no such heading)"


def test_every_relative_link_in_the_docs_points_to_a_file_that_exists() -> None:
    broken = [link for document in _documents() for link in _broken_links(document)]
    assert broken == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#a-heading) [gone](gone.md) [bad](there.md#no-heading) "
        "`[code](ignored.md)`\n```\n[block](ignored.md)\n```\n",
        encoding="utf-8",
    )
    broken = [line.split(": ", 1)[1] for line in _broken_links(page, tmp_path)]
    assert broken == ["gone.md (no such file)", "there.md#no-heading (no such heading)"]


def test_the_readme_stays_short() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines: move detail into docs/"


def _sources() -> Iterator[Path]:
    """The repository's own text files (not the virtual environment, caches or git)."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in {"build", "dist"}]
        dirs[:] = [d for d in dirs if not d.endswith(".egg-info") and d != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".toml", ".md", ".yml", ".yaml", ".sh", ".tpl", ".txt")):
                yield Path(folder) / name


_CITATION = re.compile(
    r"docs/contract\.md,?\s+sections?\s+(\d+(?:(?:,\s*|\s+and\s+|\s+to\s+)\d+)*)", re.IGNORECASE
)


def test_the_code_cites_sections_of_the_contract_that_exist() -> None:
    numbered = {
        int(m.group(1)) for m in re.finditer(r"^## (\d+)\. ", CONTRACT.read_text(), re.MULTILINE)
    }
    assert numbered == set(range(1, 16))
    cited: dict[int, str] = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _CITATION.finditer(re.sub(r"\s*#\s*|\s+", " ", text)):
            for number in re.findall(r"\d+", match.group(1)):
                cited.setdefault(int(number), str(path.relative_to(ROOT)))
    assert cited, "no code cites docs/contract.md"
    missing = {n: where for n, where in cited.items() if n not in numbered}
    assert missing == {}


def test_nothing_cites_a_contract_outside_the_repository() -> None:
    # The spec once lived beside the repository (../shared/CONTRACT.md), where a clone cannot
    # read it; the repository's docs/contract.md is the one that changes with the code.
    outside = re.compile(r"(?<!docs/)\bCONTRACT(\.md)?\b")
    citing = [
        str(path.relative_to(ROOT))
        for path in _sources()
        if path != Path(__file__) and outside.search(path.read_text(errors="replace"))
    ]
    assert citing == []


def _marked_generated() -> list[str]:
    patterns = []
    for line in (ROOT / ".gitattributes").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and "linguist-generated" in fields[1:]:
            patterns.append(fields[0])
    return patterns


def test_every_generated_file_is_marked_and_listed() -> None:
    """JSON has no comments, so generated JSON says so in .gitattributes (GitHub folds its
    diffs) and in docs/development.md's table; other formats say so in their first line."""
    generated = [str(p) for p in artifact_files()]
    generated += [f"schemas/json/{name}" for name in schema_files()]
    patterns = _marked_generated()
    development = (DOCS / "development.md").read_text(encoding="utf-8")
    for path in generated:
        assert any(fnmatch.fnmatch(path, p) for p in patterns), f"{path} not in .gitattributes"
        folder = path.rsplit("/", 1)[0]
        assert f"`{path}`" in development or f"`{folder}/*.json`" in development, path
        if not path.endswith(".json"):
            first = (ROOT / path).read_text(encoding="utf-8").splitlines()[0]
            assert first.startswith("# Generated by"), path
