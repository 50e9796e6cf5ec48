"""Ridge period (inverse frequency) and ridge clarity from local power spectra.

Windows of 32 px (three or four ridges) around foreground blocks are Hann-windowed and
Fourier-transformed in one batched call. Ridges put their energy on the window's ridge normal
(known from the orientation field) at the ridge frequency, while noise spreads over all
angles, so only the spectral sector around each window's normal is summed; the peak of that
radial profile gives a robust period for the whole finger. The share of each window's power
found there measures how clearly ridges stand out from noise (scars, sweat, a dirty sensor):
this is the "ridge clarity" of the quality score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.params import ExtractionParams

WINDOW = 32
# Zero-padding to 64 samples the spectrum twice as finely, so the peak's position (the
# period) is not pulled towards the few radii a 32-point transform has.
FFT_SIZE = 64
# Enough windows for a stable spectrum sum; more only cost time.
MAX_WINDOWS = 64


@dataclass(frozen=True)
class RidgePeriod:
    """The finger's ridge period (px at 500 dpi), its local variation and per-window data.

    `centres` are the (row, col) pixel centres of the analysed windows; `clarity` is each
    window's share of power in the finger's ridge-frequency band, in [0, 1].
    """

    period: float
    centres: NDArray[np.int32]
    clarity: NDArray[np.float32]
    # Local period on the block grid (smoothed, clipped around `period`); None if unknown.
    block_periods: NDArray[np.float32] | None = None


def _coefficient_geometry() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Radius (cycles per FFT_SIZE px) and angle (mod π) of every rfft2 coefficient."""
    fy = np.fft.fftfreq(FFT_SIZE) * FFT_SIZE
    fx = np.fft.rfftfreq(FFT_SIZE) * FFT_SIZE
    radius = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    angle = np.mod(np.arctan2(fy[:, None], fx[None, :]), np.pi)
    return radius.ravel(), angle.ravel()


_RADIUS, _ANGLE = _coefficient_geometry()
_HANN = np.outer(np.hanning(WINDOW), np.hanning(WINDOW)).astype(np.float32)
# Only spectral energy within this angle of the ridge normal counts: it is the ridges' own
# energy, while noise, pores and scars spread over all angles.
NORMAL_TOLERANCE = np.deg2rad(25)


def estimate(
    normalised: NDArray[np.float32],
    mask: NDArray[np.bool_],
    theta: NDArray[np.float32],
    params: ExtractionParams,
    *,
    local: bool = True,
) -> RidgePeriod:
    """Ridge period of the foreground; falls back to 9 px (the 500 dpi norm) without any.

    `theta` is the block ridge orientation: each window's spectrum is read only along its
    ridge normal. The period comes from the power-weighted mean radius around the spectral
    peak, which is continuous, unlike the 32-point transform's coarse bins.
    """
    b = params.block
    rows, cols = np.nonzero(mask[::2, ::2])
    # The block grid covers a partial last block when a side is not a multiple of the block
    # size (as after rescaling from another resolution); its nominal centre can then fall
    # outside the image, so every centre is clamped to the image's last pixel.
    height, width = normalised.shape
    centre_rows = np.minimum(rows * 2 * b + b // 2, height - 1)
    centre_cols = np.minimum(cols * 2 * b + b // 2, width - 1)
    centres = np.stack([centre_rows, centre_cols], axis=1).astype(np.int32)
    window_theta = theta[::2, ::2][rows, cols].astype(np.float64)
    if len(centres) > MAX_WINDOWS:
        pick = np.linspace(0, len(centres) - 1, MAX_WINDOWS).astype(np.int64)
        centres, window_theta = centres[pick], window_theta[pick]
    if len(centres) == 0:
        empty = np.zeros(0, np.float32)
        return RidgePeriod(9.0, np.zeros((0, 2), np.int32), empty)
    half = WINDOW // 2
    padded = np.pad(normalised, half, mode="reflect")
    # Gather all windows at once with fancy indexing (no Python loop per window).
    offs = np.arange(WINDOW)
    r_idx = centres[:, 0, None, None] + offs[None, :, None]
    c_idx = centres[:, 1, None, None] + offs[None, None, :]
    windows = padded[r_idx, c_idx]
    windows = (windows - windows.mean(axis=(1, 2), keepdims=True)) * _HANN
    spectrum = np.fft.rfft2(windows, s=(FFT_SIZE, FFT_SIZE))
    power = (spectrum.real**2 + spectrum.imag**2).reshape(len(centres), -1).astype(np.float64)
    # Ridge normal in the spectrum's (fx, fy) frame, image y down: θ + π/2.
    normal = np.mod(window_theta + np.pi / 2, np.pi)
    off = np.abs(np.mod(_ANGLE[None, :] - normal[:, None] + np.pi / 2, np.pi) - np.pi / 2)
    along_normal = power * (off < NORMAL_TOLERANCE)
    lo_r, hi_r = FFT_SIZE / params.max_period, FFT_SIZE / params.min_period
    band = (lo_r <= _RADIUS) & (hi_r >= _RADIUS)
    # The profile reaches a little beyond the band so the mean around a peak near the band's
    # edge is not one-sided.
    wide = (lo_r - 2 <= _RADIUS) & (hi_r + 2 >= _RADIUS) & (_RADIUS >= 2)
    total = along_normal.sum(axis=0)
    # Radial profile as mean power per coefficient: a sector holds more coefficients at
    # larger radii, so summing would bias the period short. Peak on half-index bins, then
    # the profile-weighted mean radius around it.
    bins = np.round(_RADIUS * 2).astype(np.int64)
    counted = wide & (off.min(axis=0) < NORMAL_TOLERANCE)
    n_bins = int(bins.max()) + 1
    sums = np.bincount(bins[counted], weights=total[counted], minlength=n_bins)
    counts = np.bincount(
        bins[counted], weights=(along_normal[:, counted] > 0).sum(axis=0), minlength=n_bins
    )
    profile = sums / np.maximum(counts, 1)
    in_band = np.zeros(n_bins, dtype=bool)
    in_band[np.unique(bins[band])] = True
    k = int(np.argmax(np.where(in_band, profile, -1.0)))
    radius = _lobe_centre(total, counted, k / 2)
    period = float(np.clip(FFT_SIZE / max(radius, 1e-6), params.min_period, params.max_period))
    # Clarity: each window's share of non-DC power at the ridge frequency along its normal.
    ring = (np.abs(_RADIUS - FFT_SIZE / period) <= 2.0).astype(np.float64)
    ac = (_RADIUS >= 2.0).astype(np.float64)
    clarity = (along_normal @ ring) / (power @ ac + 1e-9)
    grid = None
    if local:
        spread = params.local_period_range
        own = _window_periods(along_normal[:, wide], bins[wide], period, spread)
        grid = _period_map(own, clarity, centres, mask.shape, period, params)
    return RidgePeriod(
        period=period, centres=centres, clarity=clarity.astype(np.float32), block_periods=grid
    )


def _lobe_centre(power: NDArray[np.float64], counted: NDArray[np.bool_], peak: float) -> float:
    """Radius of the spectral lobe around `peak`, from every coefficient in it.

    Radial bins sample the 2-D lobe unevenly and pull the estimate towards their centres;
    the power-weighted mean over the lobe's own coefficients does not. Each coefficient is
    weighted by 1/r as well, because a sector holds proportionally more coefficients at
    larger radii.
    """
    near = counted & (np.abs(_RADIUS - peak) <= 3.0)
    w = power[near]
    strong = w >= 0.2 * w.max() if w.size else w.astype(bool)
    w, r = w[strong], _RADIUS[near][strong]
    if w.sum() <= 0:
        return peak
    return float(w.sum() / (w / r).sum())


def _window_periods(
    sector: NDArray[np.float64], bins: NDArray[np.int64], period: float, spread: float
) -> NDArray[np.float64]:
    """Each window's own period: the centroid of its radial profile around its peak."""
    lo = int(bins.min())
    onehot = np.zeros((len(bins), int(bins.max()) - lo + 1))
    onehot[np.arange(len(bins)), bins - lo] = 1.0
    profiles = (sector @ onehot) / np.maximum((sector > 0) @ onehot, 1.0)
    k = np.argmax(profiles, axis=1)
    offsets = np.arange(onehot.shape[1])[None, :]
    near = np.abs(offsets - k[:, None]) <= 3
    weights = profiles * near
    radius = (weights * (offsets + lo) / 2).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)
    local = FFT_SIZE / np.maximum(radius, 1e-6)
    return np.clip(local, period / spread, period * spread)


def _period_map(
    local: NDArray[np.float64],
    clarity: NDArray[np.float64],
    centres: NDArray[np.int32],
    shape: tuple[int, ...],
    period: float,
    params: ExtractionParams,
) -> NDArray[np.float32]:
    """Smooth block-grid period map from the windows, weighted by their clarity.

    Normalised convolution (blur of value×weight over blur of weight) fills the blocks
    between windows; where no clear window is near, the finger's period is used.
    """
    b = params.block
    values = np.zeros(shape, np.float32)
    weights = np.zeros(shape, np.float32)
    r = centres[:, 0] // b
    c = centres[:, 1] // b
    w = np.maximum(clarity, 1e-3).astype(np.float32)
    values[r, c] = (local * w).astype(np.float32)
    weights[r, c] = w
    sigma = params.local_period_smooth / b
    num = np.asarray(cv2.GaussianBlur(values, (0, 0), sigma), np.float32)
    den = np.asarray(cv2.GaussianBlur(weights, (0, 0), sigma), np.float32)
    floor = 0.05 * float(den.max()) if den.size else 0.0
    grid = np.where(den > floor, num / np.maximum(den, 1e-9), period)
    return grid.astype(np.float32)
