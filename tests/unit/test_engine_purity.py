"""The engine imports nothing but the standard library and itself (STYLE.md)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "streams" / "engine"
FORBIDDEN = {
    "os",
    "time",
    "io",
    "socket",
    "subprocess",
    "threading",
    "asyncio",
    "random",
    "zoneinfo",
    "pathlib",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_engine_package_is_not_empty() -> None:
    assert len(list(ENGINE.glob("*.py"))) >= 5


def test_the_engine_imports_only_the_standard_library_and_itself() -> None:
    for path in ENGINE.glob("*.py"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top == "refmon":
                assert name.startswith("refmon.streams.engine"), f"{path.name} imports {name}"
                continue
            assert top in sys.stdlib_module_names or top == "__future__", (
                f"{path.name} imports {name}"
            )
            assert top not in FORBIDDEN, (
                f"{path.name} imports {name}: the engine does no I/O and has no clock"
            )
