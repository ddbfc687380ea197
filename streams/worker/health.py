"""Whether a worker is live and ready, and why not: what `/healthz`, `/readyz` and
`refmon healthcheck` report.

Live: the worker's event loop runs (its health probe beat recently). Ready:
live, and the broker answered within the last `contact_s` seconds, no partition
is restoring and none is stalled (stalls.py). `HealthState` is plain and
thread-safe to read: the asyncio side records what it saw, the metrics thread
asks for a verdict at request time, so that the age of the last contact keeps
growing while the broker is gone, whoever probes.

health_probe.py is the asyncio side that feeds it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["CONTACT_S", "LIVE_S", "PROBE_S", "HealthState", "Verdict"]

PROBE_S = 5.0
"""How often the broker is asked; each ask gives up after this long too."""
CONTACT_S = 15.0
"""Ready only if the broker answered within this long: three probes, so one slow answer
is not an outage, and `refmon healthcheck` fails well within 30 s of losing the broker."""
LIVE_S = 60.0
"""Live only if the probe beat within this long: an event loop stuck for a minute."""


@dataclass(frozen=True)
class Verdict:
    live: bool
    ready: bool
    connected: bool
    contact_age_s: float | None
    """Seconds since the broker last answered; None: it never has."""
    reasons: tuple[str, ...]
    """Why not ready (empty when ready)."""

    def to_json(self) -> dict[str, object]:
        return {
            "live": self.live,
            "ready": self.ready,
            "connected": self.connected,
            "last_contact_seconds": (
                None if self.contact_age_s is None else round(self.contact_age_s, 1)
            ),
            "reasons": list(self.reasons),
        }


class HealthState:
    """What the worker last saw of itself; `verdict()` judges it as of now."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        contact_s: float = CONTACT_S,
        live_s: float = LIVE_S,
    ) -> None:
        self._clock = clock
        self._contact_s = contact_s
        self._live_s = live_s
        self._lock = threading.Lock()
        self._beat = clock()
        self._contact: float | None = None
        self._restoring: tuple[str, ...] = ()
        self._stalled: tuple[str, ...] = ()

    def beat(self) -> None:
        with self._lock:
            self._beat = self._clock()

    def contacted(self) -> None:
        with self._lock:
            self._contact = self._clock()

    def partitions(self, restoring: Iterable[str], stalled: Iterable[str]) -> None:
        with self._lock:
            self._restoring = tuple(sorted(restoring))
            self._stalled = tuple(sorted(stalled))

    def verdict(self) -> Verdict:
        with self._lock:
            now, beat, contact = self._clock(), self._beat, self._contact
            restoring, stalled = self._restoring, self._stalled
        live = now - beat <= self._live_s
        age = None if contact is None else now - contact
        connected = age is not None and age <= self._contact_s
        reasons = []
        if not live:
            reasons.append(f"the worker's loop has not run for {now - beat:.0f} s")
        if age is None:
            reasons.append("no answer from the Kafka brokers yet")
        elif not connected:
            reasons.append(f"no answer from the Kafka brokers for {age:.0f} s")
        if restoring:
            reasons.append(f"restoring {', '.join(restoring)}")
        if stalled:
            reasons.append(f"stalled {', '.join(stalled)}")
        return Verdict(live, not reasons, connected, age, tuple(reasons))
