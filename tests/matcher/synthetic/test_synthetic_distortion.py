"""The master → impression warp: inverse and forward agree, rotations turn directions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.synthetic.distortion import Warp, sample_warp


@given(st.integers(0, 2**32 - 1), st.floats(0.0, 2.0))
@settings(max_examples=60, deadline=None)
def test_inverse_undoes_forward(seed: int, distortion: float) -> None:
    rng = np.random.default_rng(seed)
    warp = sample_warp(
        rng,
        center_x=160,
        center_y=208,
        max_rotation_deg=30,
        max_translation=40,
        distortion=distortion,
    )
    x = rng.uniform(0, 320, 200)
    y = rng.uniform(0, 416, 200)
    u, v = warp.forward(x, y)
    bx, by = warp.inverse(u, v, iterations=8)
    assert np.abs(bx - x).max() < 0.05 and np.abs(by - y).max() < 0.05


def test_rigid_rotation_is_counter_clockwise_on_the_image() -> None:
    warp = Warp(rotation=np.pi / 2, pivot_x=100, pivot_y=100)
    # A point to the right of the pivot goes above it (smaller y) after a 90° CCW turn.
    u, v = warp.forward(np.array([110.0]), np.array([100.0]))
    np.testing.assert_allclose([u[0], v[0]], [100, 90], atol=1e-9)
    direction = warp.forward_directions(np.array([50.0]), np.array([60.0]), np.array([0.3]))
    np.testing.assert_allclose(direction, 0.3 + np.pi / 2, atol=1e-9)


def test_contact_core_does_not_slip() -> None:
    warp = Warp(
        contact_x=100, contact_y=100, inner_radius=40, outer_radius=120, skin_dx=8, skin_dy=-5
    )
    dx, dy = warp.displacement(np.array([100.0, 120.0, 300.0]), np.array([100.0, 110.0, 100.0]))
    assert dx[0] == dy[0] == 0 and dx[1] == dy[1] == 0
    np.testing.assert_allclose([dx[2], dy[2]], [8, -5])
