"""Ridge period estimation: the global period, its local variation and ridge clarity."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.fingerprint import frequency, orientation
from matcher.fingerprint.params import DEFAULT


def _estimate(image: np.ndarray) -> frequency.RidgePeriod:
    normalised, contrast = orientation.normalise(image, DEFAULT.block)
    field = orientation.estimate(normalised, contrast, DEFAULT)
    mask = np.ones(field.theta.shape, dtype=bool)
    return frequency.estimate(normalised, mask, field.theta, DEFAULT)


def _ridges(period_of_x: np.ndarray, angle: float = 0.3, size: int = 256) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # Integrate the local frequency along the normal so the period varies smoothly.
    u = xx * np.cos(angle) + yy * np.sin(angle)
    phase = 2 * np.pi * u / period_of_x[np.clip(xx.astype(int), 0, size - 1)]
    return (128 + 80 * np.cos(phase)).astype(np.uint8)


@pytest.mark.parametrize("period", [6.5, 8.0, 9.0, 11.0, 13.0])
def test_global_period_of_uniform_ridges(period: float) -> None:
    result = _estimate(_ridges(np.full(256, period)))
    assert result.period == pytest.approx(period, rel=0.05)
    assert np.median(result.clarity) > 0.5


def test_local_period_follows_denser_ridges() -> None:
    yy, xx = np.mgrid[0:256, 0:320].astype(np.float64)
    # Vertical ridges: period 7.5 on the left, 10.5 on the right (phase integrated in x).
    freq = 1 / np.interp(xx[0], [0, 110, 210, 319], [7.5, 7.5, 10.5, 10.5])
    phase = 2 * np.pi * np.cumsum(freq)
    image = (128 + 80 * np.cos(phase[None, :] + 0 * yy)).astype(np.uint8)
    result = _estimate(image)
    grid = result.block_periods
    assert grid is not None
    left = float(np.median(grid[:, 2:10]))
    right = float(np.median(grid[:, -10:-2]))
    assert left < result.period < right
    assert right - left > 1.5


def test_noise_has_low_clarity() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (256, 256), dtype=np.uint8)
    clean = _estimate(_ridges(np.full(256, 9.0)))
    assert np.median(_estimate(noise).clarity) < 0.5 * np.median(clean.clarity)
