"""Ridge period (inverse frequency) and ridge clarity from local power spectra.

Windows of 32 px (three or four ridges) around foreground blocks are Hann-windowed and
Fourier-transformed in one batched call; the radial power profile of a window peaks at its
ridge frequency. Summing the profiles gives a robust period for the whole finger, and the
share of each window's power that lies in the ridge band measures how clearly ridges stand out
from noise (scars, sweat, a dirty sensor): this is the "ridge clarity" of the quality score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.params import ExtractionParams

WINDOW = 32
# Enough windows for a stable spectrum sum; more only cost time.
MAX_WINDOWS = 64


@dataclass(frozen=True)
class RidgePeriod:
    """The finger's ridge period (px at 500 dpi) and per-window measurements.

    `centres` are the (row, col) pixel centres of the analysed windows; `clarity` is each
    window's share of power in the finger's ridge-frequency band, in [0, 1].
    """

    period: float
    centres: NDArray[np.int32]
    clarity: NDArray[np.float32]


def _radial_bins() -> tuple[NDArray[np.int64], int]:
    """Half-index radial bin of every rfft2 coefficient (finer than the integer grid)."""
    fy = np.fft.fftfreq(WINDOW) * WINDOW
    fx = np.fft.rfftfreq(WINDOW) * WINDOW
    radius = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    bins = np.round(radius * 2).astype(np.int64)  # half-index radial bins
    return bins.ravel(), int(bins.max()) + 1


_BINS, _NBINS = _radial_bins()
_HANN = np.outer(np.hanning(WINDOW), np.hanning(WINDOW)).astype(np.float32)


def _peak(profile: NDArray[np.float64], lo: int, hi: int) -> float:
    """Sub-bin position of the profile's maximum within [lo, hi] (parabolic interpolation)."""
    k = lo + int(np.argmax(profile[lo : hi + 1]))
    if lo < k < hi:
        a, b, c = profile[k - 1], profile[k], profile[k + 1]
        denom = a - 2 * b + c
        if denom < 0:
            return k + 0.5 * (a - c) / denom
    return float(k)


def estimate(
    normalised: NDArray[np.float32], mask: NDArray[np.bool_], params: ExtractionParams
) -> RidgePeriod:
    """Ridge period of the foreground; falls back to 9 px (the 500 dpi norm) without any."""
    b = params.block
    rows, cols = np.nonzero(mask[::2, ::2])
    centres = np.stack([rows * 2 * b + b // 2, cols * 2 * b + b // 2], axis=1).astype(np.int32)
    if len(centres) > MAX_WINDOWS:
        pick = np.linspace(0, len(centres) - 1, MAX_WINDOWS).astype(np.int64)
        centres = centres[pick]
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
    spectrum = np.fft.rfft2(windows)
    power = (spectrum.real**2 + spectrum.imag**2).reshape(len(centres), -1)
    profile = np.bincount(_BINS, weights=power.sum(axis=0), minlength=_NBINS)
    # Period p ↔ radial index WINDOW / p, in half-index bins.
    lo = int(np.floor(2 * WINDOW / params.max_period))
    hi = int(np.ceil(2 * WINDOW / params.min_period))
    peak = _peak(profile.astype(np.float64), lo, hi)
    period = float(np.clip(2 * WINDOW / max(peak, 1e-6), params.min_period, params.max_period))
    # Clarity: each window's share of non-DC power within ±1 radial index of the peak.
    band = (np.abs(_BINS - peak) <= 2.0).astype(np.float64)
    ac = (_BINS >= 2).astype(np.float64)
    clarity = (power @ band) / (power @ ac + 1e-9)
    return RidgePeriod(
        period=period,
        centres=centres,
        clarity=clarity.astype(np.float32),
    )
