"""Forwarding each new alert to a force's webhook: retried, and sent once.

Once means once per change of a finding: the key is a digest of the alert as
the worker wrote it (finding, change, status, times, evidence), so a message
the worker repeated after a crash, or one read again after a restart of
`refmon alerts`, is not sent again, while a new change of the same finding is.
Sent keys are kept in a small state file, appended and flushed to disk after
each delivery. The key also goes in an `Idempotency-Key` header, for a
receiver that de-duplicates too.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from refmon import __version__

TIMEOUT_S: Final = 10.0
RETRIED_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookError(Exception):
    """The webhook refused an alert, or kept failing: the alert is not marked as sent."""


class _TransientError(Exception):
    """A failure worth another attempt (a retried status, a refused connection, a timeout)."""


def alert_key(alert: Mapping[str, Any]) -> str:
    """The identity of one change of one finding."""
    canonical = json.dumps(alert, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class SentLog:
    """The keys already delivered, one a line in a file that only grows by appends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._keys = set(path.read_text(encoding="ascii").split())
        except FileNotFoundError:
            self._keys = set()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        with self.path.open("a", encoding="ascii") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._keys.add(key)


def post(url: str, body: bytes, key: str) -> None:
    """One attempt: 2xx is delivered, a retried status or a network error is transient."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": f"refmon/{__version__}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as err:
        if err.code in RETRIED_STATUSES:
            raise _TransientError(f"HTTP {err.code}") from None
        raise WebhookError(f"the webhook refused the alert: HTTP {err.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise _TransientError(f"{type(reason).__name__}: {reason}") from None


class Forwarder:
    """Sends each alert not sent before, with retries; raises WebhookError when it cannot."""

    def __init__(
        self,
        url: str,
        sent: SentLog,
        attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        send: Callable[[str, bytes, str], None] = post,
    ) -> None:
        self.url = url
        self.sent = sent
        self._send = send
        self._retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, _TransientError)),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.5, max=30),
            sleep=sleep,
        )
        self.forwarded = 0
        self.skipped = 0

    def forward(self, alert: Mapping[str, Any]) -> bool:
        """True if sent now, False if it had been sent before."""
        key = alert_key(alert)
        if key in self.sent:
            self.skipped += 1
            return False
        body = json.dumps(alert, ensure_ascii=False).encode()
        try:
            self._retrying(self._send, self.url, body, key)
        except RetryError as err:
            last = err.last_attempt.exception()
            raise WebhookError(
                f"the webhook kept failing ({last}) after "
                f"{err.last_attempt.attempt_number} attempts"
            ) from None
        self.sent.add(key)
        self.forwarded += 1
        return True
