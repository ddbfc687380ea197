"""How to reach Kafka: from flags, else from the environment, validated with clear errors."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Protocol = Literal["PLAINTEXT", "SASL_SSL"]
SASL_MECHANISM = "SCRAM-SHA-512"

ENV_BOOTSTRAP = "REFMON_KAFKA_BOOTSTRAP"
ENV_PROTOCOL = "REFMON_KAFKA_SECURITY_PROTOCOL"
ENV_USERNAME = "REFMON_KAFKA_USERNAME"
ENV_PASSWORD = "REFMON_KAFKA_PASSWORD"
ENV_CA_FILE = "REFMON_KAFKA_CA_FILE"


class SettingsError(ValueError):
    """A Kafka setting that is missing or makes no sense."""


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    bootstrap: str
    protocol: Protocol = "PLAINTEXT"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None

    def __repr__(self) -> str:  # never print the password
        return (
            f"KafkaSettings(bootstrap={self.bootstrap!r}, protocol={self.protocol!r}, "
            f"username={self.username!r})"
        )

    def _common(self) -> dict[str, Any]:
        if self.protocol == "PLAINTEXT":
            return {"bootstrap_servers": self.bootstrap.split(",")}
        return {
            "bootstrap_servers": self.bootstrap.split(","),
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (publish's checks, report, admin)."""
        options = self._common()
        if self.protocol == "SASL_SSL":
            options.update(ssl_cafile=self.ca_file, ssl_check_hostname=True)
        return options

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (the worker, publish)."""
        options = self._common()
        if self.protocol == "SASL_SSL":
            options["ssl_context"] = self.ssl_context()
        return options

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def resolve(
    bootstrap: str | None = None,
    protocol: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> KafkaSettings:
    """Flags win over the environment; SASL_SSL needs a user, a password and a CA file."""
    env = os.environ if env is None else env
    bootstrap = bootstrap or env.get(ENV_BOOTSTRAP)
    if not bootstrap:
        raise SettingsError(f"no Kafka address: pass --bootstrap-server or set {ENV_BOOTSTRAP}")
    chosen = (protocol or env.get(ENV_PROTOCOL) or "PLAINTEXT").upper()
    if chosen not in ("PLAINTEXT", "SASL_SSL"):
        raise SettingsError(f"security protocol {chosen!r}: use PLAINTEXT or SASL_SSL")
    if chosen == "PLAINTEXT":
        return KafkaSettings(bootstrap)
    user = username or env.get(ENV_USERNAME)
    secret = password or env.get(ENV_PASSWORD)
    ca = ca_file or env.get(ENV_CA_FILE)
    missing = [
        n for n, v in ((ENV_USERNAME, user), (ENV_PASSWORD, secret), (ENV_CA_FILE, ca)) if not v
    ]
    if missing:
        raise SettingsError(f"SASL_SSL needs {', '.join(missing)} (or the matching flags)")
    if ca is not None and not os.path.isfile(ca):
        raise SettingsError(f"CA file {ca} does not exist")
    return KafkaSettings(bootstrap, "SASL_SSL", user, secret, ca)
