"""A real headless Chromium (Debian's `chromium`), driven over the DevTools protocol.

Opens one page and records what a person's browser would do with it: every
console message and uncaught exception, every network request, and a
screenshot. Started with a fresh profile and everything that phones home
turned off, so that any request seen is one the page itself made.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise AssertionError(
            "chromium is needed (Debian package chromium; scripts/install-test-deps.sh)"
        )
    return path


@dataclass
class PageVisit:
    console: list[dict[str, Any]] = field(default_factory=list)
    """Console API calls, log entries and uncaught exceptions, as the protocol gave them."""
    requests: list[str] = field(default_factory=list)
    """URLs of every request the page made, the page itself first."""
    screenshot: bytes = b""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.console
            if c.get("level") in {"error", "warning"}
            or c.get("type") in {"error", "assert"}
            or "exceptionDetails" in c
        ]


class _Session:
    def __init__(self, url: str) -> None:
        self._ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        """A protocol call; with `session_id`, on that attached page (a flattened session)."""
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if session_id is not None:
            message["sessionId"] = session_id
        self._ws.send(json.dumps(message))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise AssertionError(f"no {method} within {timeout:.0f} s")

    def close(self) -> None:
        self._ws.close()


@contextmanager
def browser(width: int = 1280, height: int = 2000) -> Iterator[_Session]:
    with tempfile.TemporaryDirectory(prefix="refmon-chromium-") as profile:
        proc = subprocess.Popen(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text().strip():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("chromium did not start its DevTools endpoint")
                time.sleep(0.1)
            port, path = port_file.read_text().split()[:2]
            session = _Session(f"ws://127.0.0.1:{port}{path}")
            try:
                yield session
            finally:
                session.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def visit(url: str, script: str, width: int = 1280, height: int = 2000) -> tuple[PageVisit, Any]:
    """Open `url` in a fresh tab, wait for it to load, run `script` (an expression whose
    value is returned, by value) and take a screenshot of the viewport."""
    found = PageVisit()
    with browser(width, height) as session:
        target = session.call("Target.createTarget", url="about:blank")["targetId"]
        attached = session.call("Target.attachToTarget", targetId=target, flatten=True)
        sid = attached["sessionId"]

        def call(method: str, **params: Any) -> dict[str, Any]:
            return session.call(method, sid, **params)

        for domain in ("Page", "Runtime", "Log", "Network"):
            call(f"{domain}.enable")
        call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        call("Page.navigate", url=url)
        session.wait_for("Page.loadEventFired")
        value = call("Runtime.evaluate", expression=script, returnByValue=True)
        shot = call("Page.captureScreenshot", format="png")
        found.screenshot = base64.b64decode(shot["data"])
        for event in session.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                found.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled":
                found.console.append({"type": params["type"], "args": params["args"]})
            elif method == "Runtime.exceptionThrown":
                found.console.append(params)
            elif method == "Log.entryAdded":
                found.console.append(params["entry"])
        return found, value["result"].get("value")
