"""Fixtures of the identity world (shared with the verification tests)."""

from tests.gateway.enrollment.world import finger_calibration, world

__all__ = ["finger_calibration", "world"]
