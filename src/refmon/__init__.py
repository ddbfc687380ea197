"""refmon: watches police complaint and conduct cases for timely mandatory referral."""

__version__ = "0.1.0"
