"""A local Kondado logs API for tests, the demo and users' own pipeline tests.

Standard library only, and never imported by the tap's runtime path.
"""

from tap_kondado.simulator.server import Simulator

__all__ = ["Simulator"]
