"""Forwarding alerts to a webhook: retried through failures, sent once, never lost."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from refmon.streams.kafka.alerts import AlertRecord

from refmon.commands.alerts import Follower
from refmon.environment import Environment
from refmon.webhook import Forwarder, SentLog, WebhookError, alert_key

ALERT: dict[str, Any] = {
    "finding_id": "fnd-1",
    "kind": "missed_referral",
    "status": "open",
    "force": "DUR",
    "case_id": "c1",
    "criteria": ["serious_assault"],
    "duty_arose_at": "2026-02-02T10:00:00Z",
    "deadline": "2026-02-04T00:00:00Z",
    "detected_at": "2026-02-04T00:00:00Z",
    "summary": "DUR case c1 met serious_assault; ...",
    "change": "opened",
}


class Receiver(HTTPServer):
    """A webhook on 127.0.0.1 that answers the given statuses in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.statuses = statuses
        self.received: list[tuple[dict[str, Any], str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == 200:
            self.server.received.append((json.loads(body), self.headers["Idempotency-Key"]))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(list(getattr(request, "param", [])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def forwarder(receiver: Receiver, state: Path, attempts: int = 5) -> Forwarder:
    return Forwarder(receiver.url, SentLog(state), attempts, sleep=lambda _: None)


@pytest.mark.parametrize("receiver", [[503, 500, 429]], indirect=True)
def test_an_alert_gets_through_a_webhook_that_fails_its_first_attempts(
    receiver: Receiver, tmp_path: Path
) -> None:
    assert forwarder(receiver, tmp_path / "sent").forward(ALERT) is True
    assert receiver.received == [(ALERT, alert_key(ALERT))]
    assert receiver.statuses == []


def test_an_alert_already_sent_is_not_sent_again_after_a_restart(
    receiver: Receiver, tmp_path: Path
) -> None:
    state = tmp_path / "sent"
    assert forwarder(receiver, state).forward(ALERT) is True
    again = forwarder(receiver, state)  # a new process reading the same state file
    assert again.forward(dict(ALERT)) is False
    resolved = {**ALERT, "status": "resolved", "change": "resolved"}
    assert again.forward(resolved) is True  # a new change of the same finding is news
    assert [body["change"] for body, _ in receiver.received] == ["opened", "resolved"]


@pytest.mark.parametrize("receiver", [[503, 503, 503]], indirect=True)
def test_a_webhook_that_keeps_failing_stops_the_forwarder_and_the_alert_is_not_marked_sent(
    receiver: Receiver, tmp_path: Path
) -> None:
    state = tmp_path / "sent"
    with pytest.raises(WebhookError, match="kept failing \\(HTTP 503\\) after 3 attempts"):
        forwarder(receiver, state, attempts=3).forward(ALERT)
    assert receiver.received == []
    assert forwarder(receiver, state).forward(ALERT) is True  # the next start sends it


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_a_refusal_is_not_retried(receiver: Receiver, tmp_path: Path) -> None:
    with pytest.raises(WebhookError, match="refused the alert: HTTP 400"):
        forwarder(receiver, tmp_path / "sent").forward(ALERT)
    assert receiver.statuses == []


@pytest.mark.parametrize("receiver", [[503, 503]], indirect=True)
def test_the_follower_marks_an_alert_done_only_once_it_is_forwarded(
    receiver: Receiver, tmp_path: Path
) -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, stderr_isatty=False)
    marks: list[int] = []
    follow = Follower(
        env,
        False,
        forwarder(receiver, tmp_path / "sent", attempts=2),
        lambda r: marks.append(r.offset),
        "refmon.alerts.DUR",
    )
    records = [
        AlertRecord(0, 7, b"{not json"),
        AlertRecord(0, 8, json.dumps(ALERT).encode()),
    ]
    with pytest.raises(WebhookError):
        follow.follow(records)
    assert marks == [7]  # the bad message is passed (named on stderr), the alert is not
    assert "refmon: warning: refmon.alerts.DUR offset 7: not JSON; skipped" in err.getvalue()
    assert "DUR/c1" in out.getvalue()
    follow.follow(records[1:])  # the next start: the webhook answers now
    assert marks == [7, 8]
    assert len(receiver.received) == 1
