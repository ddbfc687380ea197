"""Alertmanager configuration: every force's alerts to that force, and only to it.

Routing, in order:
1. `team="ops"`: pipeline alerts, to the operators.
   The watchdog's own overdue outlier stages (WATCHDOG_OVERDUE) go to the
   oversight team only: the force owes nothing there, so they never reach it.
2. `force="<CODE>"`, one route per force in forces.csv: to that force's
   webhook, with `continue` so cross-force alerts also reach oversight. Inside
   it, the force's new missed referrals are sent within a minute (NEW_CASE).
3. `team="oversight"`: the watchdog's oversight team.
Anything else falls to the root, which is the oversight team too, so no alert
is ever dropped for want of a route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refmon.schemas.forces import load_forces

FORCE_URL_TEMPLATE = "http://alert-gateway:8080/forces/{force}"
OVERSIGHT_URL = "http://alert-gateway:8080/oversight"
OPS_URL = "http://alert-gateway:8080/ops"
NEW_CASE = "RefmonMissedReferralNewCase"
WATCHDOG_OVERDUE = "RefmonOutlierOverdueWatchdog"
"""An outlier stage the watchdog owes, past its deadline (alerts.yml, section 14)."""
"""Fires again each time another of a force's cases misses its deadline (alerts.yml)."""


@dataclass(frozen=True, slots=True)
class Receivers:
    force_url_template: str = FORCE_URL_TEMPLATE
    """`{force}` is replaced by the force code."""
    oversight_url: str = OVERSIGHT_URL
    ops_url: str = OPS_URL
    force_urls: Mapping[str, str] = field(default_factory=dict)
    """Per-force URLs that override the template."""

    def force_url(self, code: str) -> str:
        return self.force_urls.get(code) or self.force_url_template.format(force=code)


def force_receiver(code: str) -> str:
    return f"force-{code}"


def _webhook(name: str, url: str) -> dict[str, Any]:
    return {
        "name": name,
        "webhook_configs": [{"url": url, "send_resolved": True, "max_alerts": 0}],
    }


def _new_case_route() -> dict[str, Any]:
    """A force's group of new missed referrals, sent a minute after it changes.

    The group (this alert, this force) changes each time the alert fires anew,
    that is each time another case joins: that is news to the force, so it is
    not held for the default five minutes; and the alert clears by itself a few
    minutes later, so it is never repeated.
    """
    return {
        "matchers": [f'alertname="{NEW_CASE}"'],
        "group_wait": "30s",
        "group_interval": "1m",
        "repeat_interval": "24h",
    }


def _inhibit(source: str, target: str, equal: Iterable[str]) -> dict[str, Any]:
    return {
        "source_matchers": [f"alertname={source}"],
        "target_matchers": [f"alertname={target}"],
        "equal": list(equal),
    }


def alertmanager_config(receivers: Receivers, codes: Iterable[str] | None = None) -> dict[str, Any]:
    forces = list(codes) if codes is not None else [f.code for f in load_forces()]
    unknown = sorted(set(receivers.force_urls) - set(forces))
    if unknown:
        raise ValueError(f"URLs given for unknown forces: {', '.join(unknown)}")
    force_routes = [
        {
            "receiver": force_receiver(code),
            "matchers": [f'force="{code}"'],
            "continue": True,
            "routes": [_new_case_route()],
        }
        for code in forces
    ]
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "oversight",
            # One notification per alert and force: a force never sees another's.
            "group_by": ["alertname", "force"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
            "routes": [
                {
                    "receiver": "ops",
                    "matchers": ['team="ops"'],
                    "repeat_interval": "1h",
                },
                # Before the force routes, without `continue`: the force's route would copy it.
                {"receiver": "oversight", "matchers": [f'alertname="{WATCHDOG_OVERDUE}"']},
                *force_routes,
                {"receiver": "oversight", "matchers": ['team="oversight"']},
            ],
        },
        "inhibit_rules": [
            # The 99.8 % alert says all the 95 % one would, for the same force.
            _inhibit("RefmonComplianceBelowFunnel998", "RefmonComplianceBelowFunnel95", ["force"]),
            _inhibit(
                "RefmonMandatoryShareBelowFunnel998",
                "RefmonMandatoryShareBelowFunnel95",
                ["force"],
            ),
            _inhibit(
                "RefmonReturnedShareAboveFunnel998", "RefmonReturnedShareAboveFunnel95", ["force"]
            ),
            # A worker that is down explains the lag; page for the cause only.
            _inhibit("RefmonWorkerDown", "RefmonLagging", []),
            _inhibit("RefmonAbsent", "RefmonLagging", []),
        ],
        "receivers": [
            _webhook("oversight", receivers.oversight_url),
            _webhook("ops", receivers.ops_url),
            *(_webhook(force_receiver(c), receivers.force_url(c)) for c in forces),
        ],
    }
