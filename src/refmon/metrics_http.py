"""The metrics endpoint's HTTP server: one thread, whatever its clients do.

prometheus_client's own server starts a thread per connection and waits on a
silent client for ever, so idle or half-open connections pile up threads. Here
one asyncio loop on one daemon thread serves every connection; each request
must arrive within READ_TIMEOUT_S and be read within WRITE_TIMEOUT_S, and past
MAX_CLIENTS connections at once a new one is closed at once.

Two paths are not metrics: `/healthz` (live) and `/readyz` (ready) answer 200
or 503 with a JSON body saying why not, from the `health` callable the process
gives (a worker's: streams/worker/health.py). A process that gives none (`refmon
run`) is live and ready while it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

__all__ = ["HEALTH_PATHS", "MAX_CLIENTS", "READ_TIMEOUT_S", "Health", "MetricsServer"]

Health = Callable[[], Mapping[str, object]]
"""The process's health as JSON, with at least the booleans `live` and `ready`."""
HEALTH_PATHS = {"/healthz": "live", "/readyz": "ready"}


def _always() -> Mapping[str, object]:
    return {"live": True, "ready": True}


MAX_CLIENTS = 64
READ_TIMEOUT_S = 5.0
WRITE_TIMEOUT_S = 10.0
MAX_HEAD_BYTES = 8192
"""A request line and headers longer than this are refused (a scrape sends a few hundred)."""


def _listen(address: str, port: int) -> socket.socket:
    """Bind now, in the caller's thread, so that a taken port is the caller's error."""
    family, kind, proto, _, where = socket.getaddrinfo(
        address or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _response(status: str, content_type: str, body: bytes, head_only: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + (b"" if head_only else body)


class MetricsServer:
    """Serves `registry` in the Prometheus text format on every path but the health
    paths, GET and HEAD."""

    def __init__(
        self, registry: CollectorRegistry, address: str, port: int, health: Health | None = None
    ) -> None:
        self._registry = registry
        self._health = health or _always
        self._socket = _listen(address, port)
        self._clients = 0

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        threading.Thread(target=self._serve, name="refmon-metrics", daemon=True).start()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(
            asyncio.start_server(self._client, sock=self._socket, limit=MAX_HEAD_BYTES)
        )
        loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._clients >= MAX_CLIENTS:
            writer.transport.abort()
            return
        self._clients += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            try:
                answer = self._answer(head)
            except Exception:  # a collector that fails: say so, keep serving
                answer = _response("500 Internal Server Error", "text/plain", b"", False)
            writer.write(answer)
            await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_S)
        except (
            TimeoutError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            writer.transport.abort()  # silent, slow or malformed: drop it, nothing to say
        finally:
            self._clients -= 1
            with contextlib.suppress(ConnectionError):
                writer.close()

    def _answer(self, head: bytes) -> bytes:
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        if method not in {"GET", "HEAD"}:
            return _response("405 Method Not Allowed", "text/plain", b"", False)
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        if path in HEALTH_PATHS:
            health = self._health()
            status = "200 OK" if health.get(HEALTH_PATHS[path]) is True else "503 Unavailable"
            body = json.dumps(health).encode() + b"\n"
            return _response(status, "application/json", body, method == "HEAD")
        accept = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "accept":
                accept = value.strip()
        encoder, content_type = choose_encoder(accept)
        return _response("200 OK", content_type, encoder(self._registry), method == "HEAD")
