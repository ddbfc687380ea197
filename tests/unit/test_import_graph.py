"""The package's import graph: no circles anywhere, and the contract depends on no processor.

Read from the source with `ast` (every import, at module level, in a function
or under TYPE_CHECKING: each is a dependency a reader has to follow). grimp
cannot walk this layout: `schemas/` and `streams/` install as subpackages of
`refmon` from folders beside `src/refmon/`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "refmon": ROOT / "src" / "refmon",
    "refmon.schemas": ROOT / "schemas",
    "refmon.streams": ROOT / "streams",
}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for prefix, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = [p for p in path.relative_to(folder).with_suffix("").parts if p != "__init__"]
            found[".".join([prefix, *parts])] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `name` imports (a `from package import module` counts the
    module, not the package's __init__)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                whole = f"{base}.{alias.name}"
                targets.add(whole if whole in known else base)
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(name, path, known) for name, path in known.items()}


def circles(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, rest = work[-1]
            for nxt in rest:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        yield sorted(group)


def test_the_reader_finds_the_whole_package() -> None:
    edges = graph()
    assert "refmon.streams.engine.engine" in edges
    assert "refmon.streams.engine.case" in edges["refmon.streams.engine.engine"]


def test_the_reader_finds_a_circle_when_there_is_one() -> None:
    assert list(circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})) == [["a", "b", "c"]]


def test_no_module_of_the_package_imports_itself_in_a_circle() -> None:
    assert list(circles(graph())) == []


def test_the_contract_imports_nothing_from_the_stream_processors() -> None:
    for name, targets in graph().items():
        if name.startswith("refmon.schemas"):
            assert not {t for t in targets if t.startswith("refmon.streams")}, name


def test_neither_runner_imports_the_other() -> None:
    for name, targets in graph().items():
        if name.startswith("refmon.streams.worker"):
            assert not {t for t in targets if t.startswith("refmon.streams.runner")}, name
        if name.startswith("refmon.streams.runner"):
            assert not {t for t in targets if t.startswith("refmon.streams.worker")}, name


WORKER = ROOT / "streams" / "worker"


def test_each_worker_module_is_small_enough_to_read_in_one_sitting() -> None:
    for path in WORKER.glob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 300, f"{path.name}: {lines} lines"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= 200, f"{path.name}: class {node.name} is {size} lines"


def test_the_upgrade_from_0_1_is_imported_only_where_it_is_applied() -> None:
    """So that deleting it is one commit: the module and these call sites."""
    users = {n for n, targets in graph().items() if "refmon.streams.worker.upgrade" in targets}
    assert users == {
        "refmon.streams.worker.intake_loop",
        "refmon.streams.worker.judging_loop",
        "refmon.streams.worker.recovery",
    }
