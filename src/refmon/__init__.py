"""refmon: watches police complaint and conduct cases for timely mandatory referral."""

__version__ = "0.2.0"
"""Also in pyproject.toml and the Helm chart; a test holds them and CHANGELOG.md together."""
