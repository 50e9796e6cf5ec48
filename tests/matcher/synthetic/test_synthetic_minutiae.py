"""The template-level generator: determinism, realistic statistics, consistent ground truth."""

from __future__ import annotations

import numpy as np

from matcher.synthetic.minutiae import MIN_SPACING_PX, ImpressionParams, impression, master
from matcher.synthetic.orientation import OrientationModel


def test_master_is_deterministic_by_seed() -> None:
    a, b, c = master(7), master(7), master(8)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.direction, b.direction)
    assert len(a) != len(c) or not np.array_equal(a.x, c.x)


def test_master_statistics_are_realistic() -> None:
    counts = []
    for seed in range(200):
        m = master(seed)
        counts.append(len(m))
        d = np.hypot(m.x[:, None] - m.x[None, :], m.y[:, None] - m.y[None, :])
        np.fill_diagonal(d, np.inf)
        assert d.min() >= MIN_SPACING_PX - 1e-3
        assert (m.x >= 0).all() and (m.x < m.width).all()
        assert (m.y >= 0).all() and (m.y < m.height).all()
    assert 50 <= np.median(counts) <= 70


def test_master_directions_follow_the_ridge_flow() -> None:
    m = master(3)
    model = m.extras["model"]
    assert isinstance(model, OrientationModel)
    flow = model.orientation(m.x.astype(np.float64), m.y.astype(np.float64))
    diff = np.mod(m.direction - flow, np.pi)
    diff = np.minimum(diff, np.pi - diff)
    assert np.median(np.rad2deg(diff)) < 8


def test_impression_counts_look_like_flat_captures() -> None:
    counts = [len(impression(master(s), seed=1)) for s in range(200)]
    assert 35 <= np.median(counts) <= 55
    assert np.percentile(counts, 5) >= 20


def test_impression_is_deterministic_and_differs_between_seeds() -> None:
    m = master(11)
    a, b, c = impression(m, 1), impression(m, 1), impression(m, 2)
    np.testing.assert_array_equal(a.x, b.x)
    assert len(a) != len(c) or not np.array_equal(a.x, c.x)


def test_impression_ground_truth_matches_the_warp() -> None:
    m = master(5)
    clean = ImpressionParams(
        drop_rate=0, spurious_rate=0, type_flip_rate=0, position_sigma=0, angle_sigma_deg=0
    )
    imp = impression(m, 4, params=clean)
    source = imp.extras["source"]
    warp = imp.extras["warp"]
    assert isinstance(source, np.ndarray)
    assert (source >= 0).all()
    ex, ey = warp.forward(m.x[source].astype(np.float64), m.y[source].astype(np.float64))
    np.testing.assert_allclose(imp.x, ex, atol=1e-3)
    np.testing.assert_allclose(imp.y, ey, atol=1e-3)
    # The inverse brings every minutia back onto its master position.
    bx, by = warp.inverse(imp.x.astype(np.float64), imp.y.astype(np.float64))
    np.testing.assert_allclose(bx, m.x[source], atol=0.05)
    np.testing.assert_allclose(by, m.y[source], atol=0.05)
    # Directions turn with the placement rotation, give or take the plastic distortion.
    turn = np.mod(imp.direction - m.direction[source] - warp.rotation + np.pi, 2 * np.pi) - np.pi
    assert np.abs(np.rad2deg(turn)).max() < 15
    expected = warp.forward_directions(
        m.x[source].astype(np.float64), m.y[source].astype(np.float64), m.direction[source]
    )
    np.testing.assert_allclose(np.cos(imp.direction - expected), 1.0, atol=1e-4)


def test_impression_adds_and_drops_minutiae() -> None:
    m = master(9)
    noisy = ImpressionParams(drop_rate=0.3, spurious_rate=0.3)
    imp = impression(m, 2, params=noisy)
    source = imp.extras["source"]
    assert isinstance(source, np.ndarray)
    assert (source == -1).sum() > 0
    assert (source >= 0).sum() < 0.85 * len(m)
