"""With --sasl the controller listener takes no anonymous client (issue 22).

Before, an anonymous admin client on the controller port (KIP-919's
--bootstrap-controller) altered a cluster-wide broker config.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.kafka.conftest import KAFKA_SH, Broker

CONFIG = "log.cleaner.backoff.ms"
VALUE = "14999"  # not a default: seen only if the change went through


def configs(*args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Kafka's own kafka-configs tool, from the jars kafka.sh uses."""
    classpath = subprocess.run(
        ["bash", str(KAFKA_SH), "classpath"], check=True, capture_output=True, text=True
    ).stdout.strip()
    # Fail within seconds instead of the admin client's minute of retries.
    settings = folder / "client.properties"
    settings.write_text("default.api.timeout.ms=15000\nrequest.timeout.ms=5000\n")
    java = ["java", "-cp", classpath, "-Dlog4j.configuration=file:/dev/null"]
    return subprocess.run(
        [*java, "kafka.admin.ConfigCommand", "--command-config", str(settings), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_anonymous_client_on_the_controller_port_cannot_change_broker_configs(
    broker: Broker, tmp_path: Path
) -> None:
    host, port = broker.bootstrap.split(",")[0].rsplit(":", 1)
    controller = f"{host}:{int(port) + 1}"  # kafka.sh: the controller listener is port + 1
    altered = configs(
        "--bootstrap-controller",
        controller,
        "--alter",
        "--entity-type",
        "brokers",
        "--entity-default",
        "--add-config",
        f"{CONFIG}={VALUE}",
        folder=tmp_path,
    )
    assert altered.returncode != 0, altered.stdout
    described = configs(
        "--bootstrap-server",
        broker.bootstrap,
        "--describe",
        "--entity-type",
        "brokers",
        "--entity-default",
        folder=tmp_path,
    )
    assert described.returncode == 0, described.stderr
    assert f"{CONFIG}={VALUE}" not in described.stdout
