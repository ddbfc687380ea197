"""Synthetic national event streams for demos, tests and benchmarks."""

from refmon.simulation.config import ForceBehaviour, SimConfig
from refmon.simulation.generator import simulate

__all__ = ["ForceBehaviour", "SimConfig", "simulate"]
