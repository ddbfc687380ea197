"""What `refmon alerts` and `refmon findings` read from the environment (docs/cli.md):
one settings object, as the Kafka connection has its own (streams/kafka/settings.py).

Read when a command's parser is built, never at import time. The values are kept
as text: argparse and the commands judge them (a bad one is a usage error of the
command that uses it, not of every command), as they did when these were read by
hand.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ENV_ATTEMPTS",
    "ENV_FORCE",
    "ENV_FORMAT",
    "ENV_GROUP",
    "ENV_STATE",
    "ENV_WEBHOOK",
    "ForceSettings",
]

ENV_FORCE = "REFMON_FORCE"
ENV_GROUP = "REFMON_ALERTS_GROUP"
ENV_WEBHOOK = "REFMON_WEBHOOK_URL"
ENV_STATE = "REFMON_WEBHOOK_STATE"
ENV_ATTEMPTS = "REFMON_WEBHOOK_ATTEMPTS"
ENV_FORMAT = "REFMON_FINDINGS_FORMAT"


class ForceSettings(BaseSettings):
    """A force's reader: which force, its consumer group, the webhook, the output format."""

    # An empty value is kept as given (not taken as unset), as when these were read with
    # os.environ.get: `REFMON_WEBHOOK_ATTEMPTS=` stays an error. Names match in any case,
    # as every other REFMON_ setting's do.
    model_config = SettingsConfigDict(env_prefix="REFMON_", frozen=True, extra="ignore")

    force: str | None = None
    """REFMON_FORCE: the force whose alerts or findings to read."""
    alerts_group: str | None = None
    """REFMON_ALERTS_GROUP: its consumer group (default `<prefix>-<user>`)."""
    webhook_url: str | None = None
    """REFMON_WEBHOOK_URL: where `refmon alerts` posts each alert (keeps a token out of ps)."""
    webhook_state: str | None = None
    """REFMON_WEBHOOK_STATE: the file of alerts already forwarded."""
    webhook_attempts: str = "5"
    """REFMON_WEBHOOK_ATTEMPTS: tries per alert (a whole number, checked by argparse)."""
    findings_format: str = "text"
    """REFMON_FINDINGS_FORMAT: text, csv or json (checked by `refmon findings`)."""
