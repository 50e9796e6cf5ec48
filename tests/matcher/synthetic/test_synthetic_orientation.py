"""Orientation model: natural class frequencies and singular points with the right index."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from matcher.synthetic.minutiae import rng_for
from matcher.synthetic.orientation import (
    CLASS_FREQUENCIES,
    FingerprintClass,
    sample_orientation_model,
    sample_shape,
)


def _poincare_index(model: object, point: complex, radius: float = 6.0) -> float:
    """Turns of the orientation field (in units of 2π) along a small circle around `point`."""
    t = np.linspace(0, 2 * np.pi, 73)
    # Counter-clockwise as seen on the image: pixel y decreases as t grows.
    x = point.real + radius * np.cos(t)
    y = point.imag - radius * np.sin(t)
    theta = model.orientation(x, y)  # type: ignore[attr-defined]
    step = np.diff(2 * theta)
    step = (step + np.pi) % (2 * np.pi) - np.pi
    return float(step.sum() / (2 * np.pi) / 2)


@pytest.mark.parametrize("kind", [k for k in FingerprintClass if k is not FingerprintClass.ARCH])
def test_cores_and_deltas_have_poincare_index_plus_minus_half(kind: FingerprintClass) -> None:
    rng = np.random.default_rng(3)
    model = sample_orientation_model(rng, sample_shape(rng, 320, 416), kind)
    assert len(model.cores) == (2 if kind is FingerprintClass.WHORL else 1)
    for core in model.cores:
        assert _poincare_index(model, core) == pytest.approx(0.5, abs=0.05)
    for delta in model.deltas:
        assert _poincare_index(model, delta) == pytest.approx(-0.5, abs=0.05)


def test_loops_put_the_delta_on_the_side_they_are_named_against() -> None:
    rng = np.random.default_rng(5)
    shape = sample_shape(rng, 320, 416)
    left = sample_orientation_model(rng, shape, FingerprintClass.LEFT_LOOP)
    right = sample_orientation_model(rng, shape, FingerprintClass.RIGHT_LOOP)
    assert left.deltas[0].real > left.cores[0].real
    assert right.deltas[0].real < right.cores[0].real
    assert left.deltas[0].imag > left.cores[0].imag  # below the core on the image


def test_arch_field_is_smooth_and_flat_at_the_crease() -> None:
    rng = np.random.default_rng(7)
    shape = sample_shape(rng, 320, 416)
    model = sample_orientation_model(rng, shape, FingerprintClass.ARCH)
    yy, xx = np.mgrid[0:416:4, 0:320:4].astype(np.float64)
    theta = model.orientation(xx, yy)
    vector = np.exp(2j * theta)
    assert np.abs(np.diff(vector, axis=1)).max() < 0.5
    bottom = theta[-3:]
    assert np.median(np.minimum(bottom, np.pi - bottom)) < np.deg2rad(15)


def test_class_proportions_over_many_seeds() -> None:
    """What generators draw per seed (not one long stream) has the natural proportions."""
    n = 4000
    counts: Counter[FingerprintClass] = Counter()
    for seed in range(n):
        rng = rng_for(seed, 0x5EED)
        counts[sample_orientation_model(rng, sample_shape(rng, 320, 416)).kind] += 1
    for kind, share in CLASS_FREQUENCIES.items():
        assert abs(counts[kind] / n - share) < 4 * np.sqrt(share * (1 - share) / n)
