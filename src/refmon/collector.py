"""How often refmon's processes run Python's cycle collector.

An engine holds hundreds of thousands of small objects for as long as it runs (cases,
findings, event ids) and makes few reference cycles. At CPython's default pace (a pass
over the young objects every 700 allocations, and older generations in turn) the
collector walks them again and again: a third of a worker's restore (bench/restore.py).
Passing every 50,000 allocations keeps the same collector, and cycles are still freed.
"""

from __future__ import annotations

import gc

YOUNG = 50_000
"""Allocations (less deallocations) between passes over the youngest generation."""


def pace() -> None:
    """Set the process's collector pace (the CLI's entry point calls this once)."""
    gc.set_threshold(YOUNG, 20, 100)
