"""Free loopback ports for the services the tests start."""

from __future__ import annotations

import socket


def free_ports(count: int = 1) -> int:
    """A port p such that p .. p+count-1 are all free on 127.0.0.1.

    The system picks p; the rest are probed, so blocks rarely collide with
    another test run's.
    """
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        if base + count > 65000:
            continue
        try:
            for port in range(base + 1, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")
