"""The referral engine: pure Python, standard library only.

It takes events and a clock and returns state changes and findings. It never
reads files, sockets or the system clock; adapters do that and hand it data.
"""

from refmon.streams.engine.engine import Engine
from refmon.streams.engine.findings import Finding, FindingChange
from refmon.streams.engine.model import (
    Allegation,
    CaseFacts,
    Closed,
    Decision,
    Event,
    OutlierStep,
    Payload,
    Received,
    Referred,
)
from refmon.streams.engine.report import ForceRow, Report
from refmon.streams.engine.rules import Criterion, Ruleset, RulesetError, parse_ruleset

__all__ = [
    "Allegation",
    "CaseFacts",
    "Closed",
    "Criterion",
    "Decision",
    "Engine",
    "Event",
    "Finding",
    "FindingChange",
    "ForceRow",
    "OutlierStep",
    "Payload",
    "Received",
    "Referred",
    "Report",
    "Ruleset",
    "RulesetError",
    "parse_ruleset",
]
