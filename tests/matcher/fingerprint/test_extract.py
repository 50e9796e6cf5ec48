"""Extraction on synthetic ridge patterns with a known minutia, and on real FVC images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from matcher.fingerprint.extract import DEFAULT, EXTRACTOR, analyse, assess, extract
from matcher.fingerprint.types import MinutiaKind, MinutiaSet


def dislocation(
    size: int = 320,
    *,
    period: float = 9.0,
    centre: tuple[float, float] = (160.0, 160.0),
    invert: bool = False,
    noise: float = 0.0,
    seed: int = 0,
) -> NDArray[np.uint8]:
    """Vertical ridges with one phase singularity at `centre` (x, y).

    Winding the phase once around the point adds exactly one ridge above it, so the pattern
    holds a single minutia whose ridge (or whose two branches) runs upwards: an ending in one
    polarity, a bifurcation in the other, both pointing up (ISO angle π/2) in our convention.
    The finger is an ellipse on a light background, like a flat optical capture.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cx, cy = centre
    phase = 2 * np.pi * xx / period + np.arctan2(yy - cy, xx - cx)
    wave = np.cos(phase)
    if invert:
        wave = -wave
    finger = ((xx - size / 2) / (0.42 * size)) ** 2 + ((yy - size / 2) / (0.46 * size)) ** 2 < 1
    image = np.where(finger, 128 + 90 * wave, 235.0)
    if noise:
        image += np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _png(pixels: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", pixels)
    assert ok
    return buf.tobytes()


def _nearest(m: MinutiaSet, x: float, y: float) -> tuple[int, float]:
    d = np.hypot(m.x - x, m.y - y)
    i = int(np.argmin(d))
    return i, float(d[i])


def _angle_error(a: float, b: float) -> float:
    return abs((a - b + np.pi) % (2 * np.pi) - np.pi)


@pytest.mark.parametrize("invert", [False, True])
def test_dislocation_gives_one_minutia_at_the_right_place_and_direction(invert: bool) -> None:
    m = extract(_png(dislocation(invert=invert)))
    assert isinstance(m, MinutiaSet)
    assert 1 <= len(m) <= 2, "a clean pattern with one singularity has one minutia"
    i, dist = _nearest(m, 160, 160)
    assert dist < 8
    # Both polarities point up the extra ridge: ISO angle π/2 (y axis down, counter-clockwise).
    assert _angle_error(float(m.direction[i]), np.pi / 2) < np.deg2rad(25)
    assert m.width == 320 and m.height == 320 and m.resolution_dpi == 500
    assert m.quality[i] > 0


def test_polarity_swaps_ending_and_bifurcation() -> None:
    kinds = set()
    for invert in (False, True):
        m = extract(dislocation(invert=invert))
        kinds.add(int(m.kind[_nearest(m, 160, 160)[0]]))
    assert kinds == {MinutiaKind.ENDING, MinutiaKind.BIFURCATION}


def test_rotating_the_image_rotates_the_direction() -> None:
    # A quarter turn clockwise on screen: "up" becomes "right" (ISO angle 0).
    rotated = np.ascontiguousarray(np.rot90(dislocation(), k=-1))
    m = extract(rotated)
    i, dist = _nearest(m, 319 - 160, 160)
    assert dist < 8
    assert _angle_error(float(m.direction[i]), 0.0) < np.deg2rad(25)


def test_other_resolutions_are_rescaled_to_500_dpi() -> None:
    base = dislocation(size=320)
    big = cv2.resize(base, (364, 364), interpolation=cv2.INTER_CUBIC)  # as if 569 dpi
    m = extract(_png(big), resolution_dpi=569)
    assert (m.width, m.height) == (320, 320)
    assert _nearest(m, 160, 160)[1] < 8


def test_mask_and_period_are_reported_for_the_comparison_stage() -> None:
    m = extract(dislocation())
    mask = m.extras["mask"]
    assert isinstance(mask, np.ndarray) and mask.dtype == np.uint8
    block = int(m.extras["mask_block"])  # type: ignore[call-overload]
    assert mask.shape == (-(-320 // block), -(-320 // block))
    # The finger (an ellipse over most of the image) is foreground; the corners are not.
    assert mask[mask.shape[0] // 2, mask.shape[1] // 2] == 1
    assert mask[0, 0] == 0
    assert 0.4 < mask.mean() < 0.8
    period = m.extras["ridge_period"]
    assert isinstance(period, float) and 8.0 < period < 10.0


def test_every_minutia_lies_in_the_foreground() -> None:
    result = analyse(dislocation(noise=25.0, seed=3))
    m = result.minutiae
    assert result.mask[m.y.astype(int), m.x.astype(int)].all()


def test_clean_capture_scores_higher_than_a_noisy_small_one() -> None:
    good = assess(dislocation())
    small = np.full((320, 320), 235, np.uint8)
    small[120:200, 120:200] = dislocation()[120:200, 120:200]
    poor = assess(small)
    assert good.score > poor.score
    assert "small_foreground" in poor.codes
    assert all(r.message for r in poor.reasons)
    assert 0 <= poor.score <= 100 and 0 <= good.score <= 100


def test_noise_does_not_create_many_false_minutiae() -> None:
    m = extract(dislocation(noise=40.0, seed=1))
    assert len(m) <= 6
    assert _nearest(m, 160, 160)[1] < 10


@pytest.mark.shared
def test_real_fvc2002_images(shared_dir: Path) -> None:
    root = shared_dir / "datasets" / "fvc2002"
    for db, dpi in (("DB1_B", None), ("DB2_B", 569), ("DB3_B", None), ("DB4_B", None)):
        path = root / db / "101_1.tif"
        if not path.exists():
            pytest.skip(f"{path} missing")
        m = extract(path.read_bytes(), resolution_dpi=dpi)
        assert 12 <= len(m) <= 100, f"{db}: {len(m)} minutiae"
        assert m.image_quality > 20
        assert np.all((m.x >= 0) & (m.x < m.width) & (m.y >= 0) & (m.y < m.height))
        assert np.all((m.direction >= 0) & (m.direction < 2 * np.pi))


def test_minutiae_agree_with_synthetic_ground_truth() -> None:
    import matcher.synthetic.render as synthetic
    from benchmarks.extract import agreement

    matched = truths = found = 0
    for pixels, truth in synthetic.impressions_with_truth(2, per_finger=2, seed=7):
        m = extract(pixels)
        got = agreement((truth.x, truth.y, truth.direction), (m.x, m.y, m.direction))
        matched, truths, found = matched + got[0], truths + got[1], found + got[2]
    # Measured ≈ 0.83 recall and ≈ 0.9 precision on the benchmark's 40 impressions.
    assert matched / truths > 0.7
    assert matched / found > 0.75


def test_quality_reasons_tell_the_operator_what_to_fix() -> None:
    noisy = assess(dislocation(noise=120.0, seed=2))
    assert "poor_ridge_clarity" in noisy.codes
    assert "clean" in next(r.message for r in noisy.reasons if r.code == "poor_ridge_clarity")
    pattern = dislocation().astype(np.float32)
    faint = assess((235 - (235 - pattern) * 0.12).astype(np.uint8))
    assert "low_contrast" in faint.codes
    # Wet skin: ridges spread until the valleys are gone over most of the finger.
    wet = cv2.erode(dislocation(period=7.0), np.ones((5, 5), np.uint8))
    assert "too_dark" in assess(wet).codes
    assert assess(dislocation(noise=20.0)).factors["clarity"] > noisy.factors["clarity"]


def test_local_period_filter_banks_find_the_same_minutia() -> None:
    params = replace(DEFAULT, gabor_period_levels=(0.85, 1.0, 1.18))
    m = extract(dislocation(), params=params)
    i, dist = _nearest(m, 160, 160)
    assert dist < 8
    assert _angle_error(float(m.direction[i]), np.pi / 2) < np.deg2rad(25)


@pytest.mark.parametrize("dpi", [250, 500, 569, 1000, 1200])
def test_every_valid_size_and_resolution_extracts_without_error(dpi: int) -> None:
    """Sides that are not multiples of the block size leave partial blocks at the edges.

    A finger that reaches the image border puts those blocks in the foreground; the sweep
    covers every remainder modulo two blocks (the frequency stage's window stride) after
    rescaling, from the smallest side the validation accepts.
    """
    rng = np.random.default_rng(dpi)
    for _ in range(12):
        h, w = (int(v) for v in rng.integers(150, 420, size=2))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        ridges = 128 + 90 * np.cos(2 * np.pi * (xx * 0.8 + yy * 0.6) / (9.0 * dpi / 500))
        m = extract(ridges.astype(np.uint8), resolution_dpi=dpi)
        assert (m.width, m.height) == (round(w * 500 / dpi), round(h * 500 / dpi))


def test_templates_name_the_extractor_that_made_them() -> None:
    assert extract(dislocation()).extractor == EXTRACTOR
    tuned = replace(DEFAULT, max_minutiae=DEFAULT.max_minutiae - 1)
    assert extract(dislocation(), params=tuned).extractor == f"{EXTRACTOR}+custom"
