"""How to reach Kafka: one connection config, from REFMON_KAFKA_* and flags, for every client.

Every Kafka command (publish, worker, report, topics, acls, explain) reads its
connection here, and every client's options are rendered here: kafka-python's
for the admin and publish's checks, aiokafka's for the worker, publish and the
reader. Flags win over the environment: a command passes the flags it was given
as values, and pydantic-settings reads the rest from the environment.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from refmon.streams.kafka.topics import DEFAULT_PREFIX, Topics

__all__ = [
    "ENV_BOOTSTRAP",
    "ENV_CA_FILE",
    "ENV_PASSWORD",
    "ENV_PROTOCOL",
    "ENV_USERNAME",
    "KafkaCommandSettings",
    "KafkaSettings",
    "SettingsError",
    "one_line",
]

Protocol = Literal["PLAINTEXT", "SASL_SSL"]
SASL_MECHANISM = "SCRAM-SHA-512"
ENV_PREFIX = "REFMON_KAFKA_"

ENV_BOOTSTRAP = "REFMON_KAFKA_BOOTSTRAP"
ENV_PROTOCOL = "REFMON_KAFKA_SECURITY_PROTOCOL"
ENV_USERNAME = "REFMON_KAFKA_USERNAME"
ENV_PASSWORD = "REFMON_KAFKA_PASSWORD"
ENV_PASSWORD_FILE = "REFMON_KAFKA_PASSWORD_FILE"
ENV_CA_FILE = "REFMON_KAFKA_CA_FILE"


class SettingsError(ValueError):
    """A setting that is missing or makes no sense."""


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    bootstrap: str | None = None
    """HOST:PORT[,...]; required (a validator says so in one line)."""
    security_protocol: Protocol = "PLAINTEXT"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    """A file holding the password: kept out of flags, which other users can see."""
    ca_file: Path | None = None

    def __init__(self, bootstrap: str | None = None, /, **values: Any) -> None:
        # KafkaSettings("host:9092"): the address alone, for tests and tools.
        if bootstrap is not None:
            values["bootstrap"] = bootstrap
        super().__init__(**values)

    @model_validator(mode="after")
    def _complete(self) -> KafkaSettings:
        if not self.bootstrap:
            raise ValueError(f"no Kafka address: pass --bootstrap-server or set {ENV_BOOTSTRAP}")
        if self.security_protocol == "PLAINTEXT":
            return self
        if self.password is None and self.password_file is not None:
            try:
                secret = self.password_file.read_text(encoding="utf-8").strip()
            except OSError as err:
                raise ValueError(f"cannot read {self.password_file}: {err.strerror}") from None
            object.__setattr__(self, "password", SecretStr(secret))
        named = ((ENV_USERNAME, self.username), (ENV_PASSWORD, self.password))
        missing = [n for n, v in (*named, (ENV_CA_FILE, self.ca_file)) if not v]
        if missing:
            raise ValueError(f"SASL_SSL needs {', '.join(missing)} (or the matching flags)")
        if self.ca_file is not None and not os.path.isfile(self.ca_file):
            raise ValueError(f"CA file {self.ca_file} does not exist")
        return self

    def _common(self) -> dict[str, Any]:
        servers = (self.bootstrap or "").split(",")
        if self.security_protocol == "PLAINTEXT":
            return {"bootstrap_servers": servers}
        return {
            "bootstrap_servers": servers,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password.get_secret_value() if self.password else None,
        }

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (publish's checks, admin)."""
        options = self._common()
        if self.security_protocol == "SASL_SSL":
            options.update(ssl_cafile=str(self.ca_file), ssl_check_hostname=True)
        return options

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients (the worker, publish, the reader)."""
        options = self._common()
        if self.security_protocol == "SASL_SSL":
            options["ssl_context"] = self.ssl_context()
        return options

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


class KafkaCommandSettings(BaseSettings):
    """What every Kafka command reads: the connection, and the topics' prefix
    (REFMON_TOPIC_PREFIX). The worker's settings add its own (streams/worker/settings.py)."""

    model_config = SettingsConfigDict(env_prefix="REFMON_", frozen=True, extra="forbid")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topic_prefix: str = DEFAULT_PREFIX

    @field_validator("topic_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        Topics(value)  # raises ValueError with the reason
        return value

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)


def one_line(err: ValidationError, flags: dict[str, str] | None = None) -> str:
    """A settings error as one line: the first problem, named by its flag where it has one."""
    first = err.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in first["loc"])
    if not where:
        return message
    name = (flags or {}).get(where, where)
    return f"{name}: {message}"


KAFKA_FLAGS = {
    "bootstrap": "--bootstrap-server",
    "security_protocol": "--security-protocol",
    "username": "--username",
    "password_file": "--password-file",
    "ca_file": "--ca-file",
}
"""Each connection field's flag (the environment variable is ENV_PREFIX + its name)."""
