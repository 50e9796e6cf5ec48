"""Gabor enhancement: ridges come out positive, and the configured filter period is used."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.fingerprint import enhance, orientation
from matcher.fingerprint.params import DEFAULT, ExtractionParams


def _enhanced(image: np.ndarray, params: ExtractionParams) -> np.ndarray:
    normalised, contrast = orientation.normalise(image, params.block)
    field = orientation.estimate(normalised, contrast, params)
    mask = np.ones(image.shape, dtype=bool)
    return enhance.enhance(normalised, field, 9.0, mask, params)


def _noisy_ridges() -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:200, 0:200].astype(np.float64)
    wave = np.cos(2 * np.pi * (xx * np.cos(0.4) + yy * np.sin(0.4)) / 9.0)
    noise = np.random.default_rng(0).normal(0, 60, wave.shape)
    return np.clip(128 - 70 * wave + noise, 0, 255).astype(np.uint8), wave


def test_dark_ridges_come_out_positive_through_noise() -> None:
    image, wave = _noisy_ridges()
    out = _enhanced(image, DEFAULT)[20:-20, 20:-20]
    ridge = wave[20:-20, 20:-20] > 0.5  # dark in the image
    valley = wave[20:-20, 20:-20] < -0.5
    assert (out[ridge] > 0).mean() > 0.95
    assert (out[valley] < 0).mean() > 0.95


def test_the_configured_period_level_is_used() -> None:
    image, _ = _noisy_ridges()
    fine = _enhanced(image, replace(DEFAULT, gabor_period_levels=(0.85,)))
    plain = _enhanced(image, replace(DEFAULT, gabor_period_levels=(1.0,)))
    assert not np.allclose(fine, plain)
