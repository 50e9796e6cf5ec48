"""Master fingerprint images: determinism, speed, ridge structure and ground truth."""

from __future__ import annotations

import time

import numpy as np
import pytest

from matcher.synthetic.orientation import FingerprintClass
from matcher.synthetic.ridges import MasterFingerprint, gabor_kernel, master_fingerprint
from matcher.synthetic.skeleton import crossing_numbers, thin


@pytest.fixture(scope="module")
def whorl() -> MasterFingerprint:
    return master_fingerprint(4, kind=FingerprintClass.WHORL)


def test_master_is_deterministic_by_seed(whorl: MasterFingerprint) -> None:
    again = master_fingerprint(4, kind=FingerprintClass.WHORL)
    np.testing.assert_array_equal(whorl.render(), again.render())
    np.testing.assert_array_equal(whorl.minutiae.x, again.minutiae.x)


def test_master_is_fast_enough() -> None:
    start = time.process_time()
    master_fingerprint(12)
    # Target 0.5 s; the margin absorbs a busy CI machine.
    assert time.process_time() - start < 1.5


def test_ridges_fill_the_footprint(whorl: MasterFingerprint) -> None:
    inside = whorl.ridges[whorl.mask]
    assert np.mean(np.abs(inside) > 0.5) > 0.6
    assert 0.35 < np.mean(inside > 0) < 0.65  # ridges and valleys about equally wide


def test_ridge_period_matches_500_dpi(whorl: MasterFingerprint) -> None:
    """The dominant spatial frequency of 64 px patches gives the ridge period (8–12 px)."""
    h, w = whorl.ridges.shape
    periods = []
    for cy in (h // 3, h // 2, 2 * h // 3):
        for cx in (w // 3, w // 2, 2 * w // 3):
            patch = whorl.ridges[cy - 32 : cy + 32, cx - 32 : cx + 32]
            spectrum = np.abs(np.fft.fftshift(np.fft.fft2(patch - patch.mean())))
            fy, fx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
            periods.append(64 / np.hypot(fy - 32, fx - 32))
    assert 7.5 <= np.median(periods) <= 12.5


def test_ground_truth_sits_on_ridge_features(whorl: MasterFingerprint) -> None:
    m = whorl.minutiae
    assert 25 <= len(m) <= 120
    ridge = whorl.ridges > 0
    endings = m.kind == 1
    ahead_x = np.rint(m.x + 5 * np.cos(m.direction)).astype(int)
    ahead_y = np.rint(m.y - 5 * np.sin(m.direction)).astype(int)
    behind_x = np.rint(m.x - 5 * np.cos(m.direction)).astype(int)
    behind_y = np.rint(m.y + 5 * np.sin(m.direction)).astype(int)
    # An ending points into its ridge; a bifurcation's stem (behind it) is ridge.
    assert ridge[ahead_y[endings], ahead_x[endings]].mean() > 0.8
    assert (~ridge[behind_y[endings], behind_x[endings]]).mean() > 0.7
    assert ridge[behind_y[~endings], behind_x[~endings]].mean() > 0.75
    d = np.hypot(m.x[:, None] - m.x[None, :], m.y[:, None] - m.y[None, :])
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 6


def test_gabor_kernel_is_zero_mean_and_tuned() -> None:
    k = gabor_kernel(np.pi / 3, 9.0, 4.5).astype(np.float64)
    assert abs(k.sum()) < 1e-4
    r = k.shape[0] // 2
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    normal = np.pi / 3 + np.pi / 2
    tuned = np.cos(2 * np.pi * (xx * np.cos(normal) - yy * np.sin(normal)) / 9.0)
    along = np.cos(2 * np.pi * (xx * np.cos(np.pi / 3) - yy * np.sin(np.pi / 3)) / 9.0)
    assert (k * tuned).sum() == pytest.approx(1.0, rel=1e-4)
    assert abs((k * along).sum()) < 0.05


def test_thinning_and_crossing_numbers_on_a_drawn_fork() -> None:
    img = np.zeros((40, 40), dtype=bool)
    img[18:22, 2:20] = True  # stem
    for i in range(18):
        img[max(0, 18 - i) : 20 - i, 20 + i : 22 + i] = True  # upper branch
        img[20 + i : 22 + i, 20 + i : 22 + i] = True  # lower branch
    skeleton = thin(img)
    assert skeleton.sum() < img.sum() / 2
    cn = crossing_numbers(skeleton)
    assert (cn == 3).sum() >= 1
    assert (cn == 1).sum() == 3
