"""The CLI starts without the optional extras: `refmon alerts` loads Kafka and HTTP when run."""

from __future__ import annotations

import subprocess
import sys


def test_building_the_cli_loads_neither_the_kafka_clients_nor_the_webhook_stack() -> None:
    probe = (
        "import sys, refmon.cli; refmon.cli.build_parser(); "
        "print(sorted(m for m in ('kafka', 'aiokafka', 'tenacity') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
