"""What the findings topic already holds of the force-level findings, read when a worker
comes to hold a force (its start, a restart, a move), so that it announces only changes.

Without it, the announcers (force_findings.py) start empty: every open finding of a
force would go out again, repeating the record already on the findings and alerts
topics (issue 22). The read is of the compacted findings topic, committed records
only, and parses only the few force-level ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Set

from refmon.streams.engine import Finding
from refmon.streams.wire.finding_decode import decode_finding, finding_kind
from refmon.streams.worker.force_findings import KINDS, ForceFindings, OutlierFindings

log = logging.getLogger("refmon.worker")

FORCE_LEVEL = KINDS | {"outlier_overdue"}

ReadFindings = Callable[[Callable[[bytes], bool]], Awaitable[dict[bytes, bytes]]]
"""Reads the findings topic: the latest committed value of each key that a filter keeps."""


def force_level(value: bytes) -> bool:
    return finding_kind(value) in FORCE_LEVEL


def decoded(values: Iterable[bytes]) -> list[Finding]:
    found = (decode_finding(v) for v in values)
    return [f for f in found if f is not None and f.kind in FORCE_LEVEL]


class Seeder:
    """Seeds the announcers with the forces this worker has come to hold since last asked."""

    def __init__(
        self, read: ReadFindings, announcers: tuple[ForceFindings, OutlierFindings | None]
    ) -> None:
        self._read = read
        self._announcers = announcers
        self._held: frozenset[str] = frozenset()

    def forget(self) -> None:
        """A new session: every force is read afresh at the next tick, so that a change whose
        send failed with the last session (not on the topic) goes out again."""
        self._held = frozenset()

    async def held(self, forces: Set[str]) -> None:
        """Call before announcing for `forces`; reads the topic only when one is new."""
        gained = frozenset(forces) - self._held
        if gained:
            started = time.monotonic()
            findings = decoded((await self._read(force_level)).values())
            for announcer in self._announcers:
                if announcer is not None:
                    announcer.seed(findings, gained)
            log.info(
                "took %d force-level finding(s) of %d newly held force(s) from the findings "
                "topic in %.2f s",
                sum(f.force in gained for f in findings),
                len(gained),
                time.monotonic() - started,
            )
        self._held = frozenset(forces)
