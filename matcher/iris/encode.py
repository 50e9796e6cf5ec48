"""Encoding: 1D log-Gabor phase along the angle, quantised to 2 bits per sample (Masek).

The log-Gabor filter has no DC response at any bandwidth, so the code depends on texture and
not on illumination; its phase quadrant (signs of the real and imaginary parts) is the bit
pair. Eight radial bands (each the mean of 8 rubber-sheet rows, a radial low-pass like
Daugman's Gaussian envelope) × 128 angular positions × 2 bits = 2,048 bits.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.iris.normalize import NormalizedIris
from matcher.iris.params import IrisParams
from matcher.iris.types import ANGLES, CODE_BITS, RINGS, IrisCode


def fragile_bits(
    resp: NDArray[np.complex128], mask: NDArray[np.bool_], fraction: float
) -> NDArray[np.bool_]:
    """The weakest `fraction` of each ring's valid bits: |real| or |imag| near zero.

    Such a bit's sign is decided by noise, so it flips between captures (Hollingsworth,
    Bowyer and Flynn). The cut is per ring because contrast falls towards the limbus; a
    global cut would mask whole outer rings instead of the unstable bits in every ring.
    """
    parts = np.abs(np.stack([resp.real, resp.imag], axis=-1))  # (RINGS, ANGLES, 2)
    fragile = np.zeros_like(mask)
    for ring in range(parts.shape[0]):
        valid = mask[ring]
        if valid.any():
            fragile[ring] = parts[ring] <= np.quantile(parts[ring][valid], fraction)
    return fragile


def usable_fraction(code: IrisCode, params: IrisParams) -> float:
    """Share of the code visible through lids, lashes and glare (fragile bits count as
    visible: they are masked by design, not occluded)."""
    return code.valid_bits / (CODE_BITS * (1.0 - params.fragile_fraction))


@lru_cache(maxsize=8)
def log_gabor(n: int, wavelength: float, sigma_on_f: float) -> NDArray[np.float64]:
    """Frequency response of a one-sided (analytic) log-Gabor filter over n samples."""
    f = np.fft.fftfreq(n)
    f0 = 1.0 / wavelength
    h = np.zeros(n)
    pos = f > 0
    h[pos] = np.exp(-(np.log(f[pos] / f0) ** 2) / (2 * np.log(sigma_on_f) ** 2))
    return h


def encode(norm: NormalizedIris, params: IrisParams) -> IrisCode:
    """Turn the rubber sheet into a 2,048-bit code and its validity mask."""
    n_r, n_a = norm.image.shape
    rows_per_ring = n_r // RINGS
    noise = norm.noise.astype(np.float32)
    valid = 1.0 - noise
    img = norm.image.astype(np.float32)
    # Noise pixels take their row's mean of valid pixels so lashes do not ring through the
    # filter; the mask still excludes them below.
    row_sum = (img * valid).sum(axis=1, keepdims=True)
    row_n = valid.sum(axis=1, keepdims=True)
    row_mean = np.where(row_n > 0, row_sum / np.maximum(row_n, 1), img.mean())
    img = np.where(norm.noise, row_mean, img)
    bands = img.reshape(RINGS, rows_per_ring, n_a).mean(axis=1)
    band_noise = noise.reshape(RINGS, rows_per_ring, n_a).mean(axis=1)
    # A bit also depends on its neighbours within half a wavelength along the angle.
    win = max(1, int(params.wavelength / 2)) | 1
    half = win // 2
    wrapped = np.pad(band_noise, ((0, 0), (half, half)), mode="wrap")
    band_noise = cv2.blur(wrapped, (win, 1))[:, half : half + n_a]
    response = np.fft.ifft(
        np.fft.fft(bands, axis=1) * log_gabor(n_a, params.wavelength, params.sigma_on_f), axis=1
    )
    step = n_a // ANGLES
    resp = response[:, ::step]
    ok = band_noise[:, ::step] <= params.max_noise_fraction
    bits = np.stack([resp.real > 0, resp.imag > 0], axis=-1)  # (RINGS, ANGLES, 2)
    mask = np.stack([ok, ok], axis=-1)
    if params.fragile_fraction > 0:
        mask &= ~fragile_bits(resp, mask, params.fragile_fraction)
    return IrisCode.from_bits(
        np.ascontiguousarray(bits.transpose(1, 0, 2)), np.ascontiguousarray(mask.transpose(1, 0, 2))
    )
