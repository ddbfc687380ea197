"""The metrics endpoint survives idle, half-open and slow clients: bounded threads, a read
timeout, and every scrape answered while they hang on."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from refmon import metrics_http
from refmon.serve import start_metrics

GUARD_S = 30.0
"""Only a guard against a hung test, never a measure of speed."""


@contextmanager
def _endpoint() -> Iterator[tuple[str, int, str]]:
    _metrics, url = start_metrics(0)
    host, port = url.removeprefix("http://").removesuffix("/metrics").rsplit(":", 1)
    yield host, int(port), url


def _scrape(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=GUARD_S) as response:
        return response.status, response.read().decode()


def _closed_by_server(conn: socket.socket) -> bool:
    """Whether the server closed (or reset) the connection without answering."""
    conn.settimeout(GUARD_S)
    try:
        conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True


def test_idle_and_half_open_connections_add_no_threads_and_scrapes_still_answer() -> None:
    with _endpoint() as (host, port, url), ExitStack() as idle:
        assert _scrape(url)[0] == 200
        before = threading.active_count()
        for n in range(60):
            conn = idle.enter_context(socket.create_connection((host, port), timeout=GUARD_S))
            if n % 2:
                conn.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        status, text = _scrape(url)  # accepted after every idle one: they are all held now
        assert status == 200
        assert "refmon_events_total" in text or "# HELP" in text
        assert threading.active_count() <= before + 1


def test_a_silent_client_is_dropped_after_the_read_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics_http, "READ_TIMEOUT_S", 0.2)
    with _endpoint() as (host, port, _), socket.create_connection((host, port)) as conn:
        conn.settimeout(GUARD_S)
        assert conn.recv(1) == b""  # closed by the server; the guard would raise instead


def test_connections_beyond_the_bound_are_closed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics_http, "MAX_CLIENTS", 2)
    with _endpoint() as (host, port, url), ExitStack() as idle:
        held = [idle.enter_context(socket.create_connection((host, port))) for _ in range(2)]
        extra = idle.enter_context(socket.create_connection((host, port)))
        assert _closed_by_server(extra)
        for conn in held:
            conn.close()
        assert _scrape(url)[0] == 200


def test_a_head_request_and_an_openmetrics_scrape_are_answered() -> None:
    with _endpoint() as (_, _, url):
        head = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(head, timeout=GUARD_S) as response:
            assert response.status == 200
            assert response.read() == b""
        wanted = urllib.request.Request(url, headers={"Accept": "application/openmetrics-text"})
        with urllib.request.urlopen(wanted, timeout=GUARD_S) as response:
            assert response.headers["Content-Type"].startswith("application/openmetrics-text")
            assert response.read().decode().endswith("# EOF\n")


def test_an_endless_request_head_is_dropped_and_scrapes_go_on() -> None:
    with _endpoint() as (host, port, url), socket.create_connection((host, port)) as conn:
        conn.settimeout(GUARD_S)
        try:
            conn.sendall(b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 20_000 + b"\r\n")
            answer = conn.recv(1)
        except ConnectionResetError:
            answer = b""
        assert answer == b""
        assert _scrape(url)[0] == 200
