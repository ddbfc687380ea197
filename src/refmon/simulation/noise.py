"""Malformed input of the kinds integrators really send, for dead-letter testing."""

from __future__ import annotations

import random

KINDS = ("truncated", "unknown_field", "unknown_force", "naive_time", "not_object", "bad_utf8")


def malformed(rng: random.Random, line: str) -> str:
    kind = rng.choice(KINDS)
    if kind == "truncated":
        return line[: len(line) // 2]
    if kind == "unknown_field":
        return line[:-1] + ',"note":"x"}'
    if kind == "unknown_force":
        return line.replace('"force":"', '"force":"X', 1)
    if kind == "naive_time":
        return line.replace('Z"', '"', 1).replace('+00:00"', '"', 1).replace('+01:00"', '"', 1)
    if kind == "not_object":
        return "[" + line + "]"
    # Text cannot hold invalid UTF-8; a lone surrogate escapes to invalid bytes on write.
    return line[:10] + "\udcff" + line[10:]
