"""Every force-level finding the cross-force rows imply, for both runners alike."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from refmon.streams.engine.deterioration import deterioration_findings
from refmon.streams.engine.findings import Finding
from refmon.streams.engine.report import ForceRow
from refmon.streams.engine.volume_findings import volume_findings


def force_findings(rows: Iterable[ForceRow], ruleset_id: str, zone: tzinfo) -> tuple[Finding, ...]:
    """`deterioration` (docs/contract.md section 11) and `volume_anomaly` (docs/volume.md)."""
    rows = tuple(rows)
    return (
        *deterioration_findings(rows, ruleset_id, zone),
        *volume_findings(rows, ruleset_id),
    )
