"""The 44 forces of England and Wales, shipped as package data (forces.csv)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class Force:
    code: str
    name: str
    country: str
    approx_officers: int
    region: str = ""
    """The police region (England's eight, and Wales): refmon's default peer groups."""


@cache
def load_forces() -> tuple[Force, ...]:
    """The forces in file order; read once, on first use, never at import."""
    text = files("refmon.schemas").joinpath("forces.csv").read_text(encoding="utf-8")
    return tuple(
        Force(
            row["code"],
            row["name"],
            row["country"],
            int(row["approx_officers"]),
            row.get("region") or "",
        )
        for row in csv.DictReader(io.StringIO(text))
    )


@cache
def force_codes() -> frozenset[str]:
    return frozenset(f.code for f in load_forces())
