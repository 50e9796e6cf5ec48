"""Fixtures of the identity world (defined with the enrollment tests)."""

from tests.gateway.enrollment.world import finger_calibration, world

__all__ = ["finger_calibration", "world"]
