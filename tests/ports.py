"""Free loopback ports for the services the tests and benchmarks start."""

from __future__ import annotations

import random
import socket
from pathlib import Path

EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_ports(count: int = 1) -> int:
    """A port p such that p .. p+count-1 are all free on 127.0.0.1.

    The block is drawn below the ephemeral range: a broker restarts on its own
    ports, and a cluster's nodes start one after another, while the connections
    all around take ephemeral source ports, which could land on a port of the
    block in between (a three-node start once failed so, "Address already in
    use" on its last node).
    """
    low = int(EPHEMERAL.read_text().split()[0]) if EPHEMERAL.exists() else 32768
    for _ in range(200):
        base = random.randrange(10000, low - count)
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")
