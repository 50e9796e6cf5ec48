"""Two-finger fusion by Fisher's method on calibrated FMRs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.fingerprint.calibration import fit
from matcher.fingerprint.fusion import FusionError, fuse, fuse_fmrs


def test_two_fingers_follow_the_closed_form() -> None:
    p1, p2 = 1e-3, 2e-2
    q = p1 * p2
    assert fuse_fmrs([p1, p2]) == pytest.approx(q * (1 - math.log(q)))
    assert fuse_fmrs([0.01]) == pytest.approx(0.01)


def test_fused_fmr_is_calibrated_for_independent_impostors() -> None:
    rng = np.random.default_rng(3)
    p = rng.random((20_000, 2))
    fused = np.array([fuse_fmrs(row) for row in p])
    for level in (0.1, 0.01, 0.001):
        assert (fused <= level).mean() == pytest.approx(level, rel=0.3)


def test_two_good_fingers_beat_one() -> None:
    assert fuse_fmrs([1e-3, 1e-3]) < 1e-3
    assert fuse_fmrs([1e-3, 0.9]) > 1e-3  # a poor second finger weakens the evidence


def test_fuse_decides_with_a_calibration() -> None:
    cal = fit(np.random.default_rng(1).beta(2, 40, 50_000), source="beta")
    both = fuse([0.2, 0.25], calibration=cal, target_fmr=1e-4)
    assert both.match and both.fmr < 1e-4
    assert both.as_dict()["fingers"][0]["score"] == 0.2
    none = fuse([0.03, 0.02], calibration=cal, target_fmr=1e-4)
    assert not none.match
    with pytest.raises(FusionError):
        fuse_fmrs([])
