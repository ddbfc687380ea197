"""Text from input files made safe for a terminal: control characters shown, never obeyed.

A ruleset id, a case id or a label read from a file can hold escape sequences
that clear the screen, set the window title or forge a line of output. Every
command that prints such text to a person passes it through here.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["safe", "safe_lines"]


def _escaped(char: str) -> str:
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")


def safe(text: str) -> str:
    """`text` with every non-printable character (escapes, newlines, bidi overrides, lone
    surrogates) written as its Python escape, e.g. ESC as `\\x1b`."""
    if text.isprintable():
        return text  # the common case, at the cost of one C call
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def safe_lines(lines: Iterable[str]) -> str:
    """Lines of output joined by line breaks, each line made `safe`: a line break inside a
    value is escaped too, so a value can never forge a line of its own."""
    return "\n".join(safe(line) for line in lines)
