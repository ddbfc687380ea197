"""What resolves each finding kind, in words a force's PSD officer can act on.

The same text goes into each finding (its `resolves` field), into `refmon
explain` and into the runbooks (deploy/runbooks/findings.md), so that the three
never disagree. Each text names the event that would resolve the finding, as
docs/contract.md sections 6, 8, 11 and 14 define it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

RESOLVES: Final[Mapping[str, str]] = {
    "missed_referral": "refer the case to the IOPC (a case.referred, confirmed by the "
    "IOPC's referral.received); the finding then becomes a late_referral",
    "late_referral": "nothing the force does now makes it on time: it stays as the record "
    "of a late referral, and resolves only if an event dated before the deadline shows the "
    "referral was on time (for example the IOPC's referral.received, arriving late)",
    "assessment_mismatch": "correct the force's assessment (a case.updated with "
    "force_assessment.mandatory true), or correct the facts if they were recorded wrongly",
    "downgraded_after_duty": "nothing, if the facts really changed: the duty stays once it "
    "arose; record it if the downgrade was a mistake (a case.updated whose facts meet a "
    "criterion again)",
    "closed_without_referral": "refer the case to the IOPC (a case.referred, confirmed by the "
    "IOPC's referral.received), even though it is closed",
    "unconfirmed_referral": "the IOPC's referral.received for the case; if the IOPC has no "
    "record of it, send the referral again",
    "deterioration": "referrals on time again: the finding resolves when the force's "
    "timeliness CUSUM has not signalled for 90 days",
    "outlier_overdue": "the action the outlier awaits (named in the summary), from whoever "
    "owes it, or the outlier's closing",
}
"""Keyed by finding kind (streams/engine/vocabulary.py); a test holds that every kind has one."""

UNKNOWN: Final = "see the runbook for this finding kind"


def resolves(kind: str) -> str:
    """What would resolve a finding of this kind (a generic pointer for a kind added later)."""
    return RESOLVES.get(kind, UNKNOWN)
