"""Normalisation and the ridge orientation field on a block grid.

Orientation is estimated by least squares on the gradient structure tensor (Maltoni et al.,
Handbook of Fingerprint Recognition): θ = ½·atan2(2Gxy, Gxx − Gyy) + π/2, smoothed as the
doubled-angle vector field so that θ and θ + π average correctly. Working on 8-px block means
instead of per-pixel windows makes the whole stage cost well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.params import ExtractionParams

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class OrientationField:
    """Per-block ridge orientation θ in [0, π), coherence in [0, 1] and ridge contrast.

    The grid has `ceil(h / block)` × `ceil(w / block)` cells; cell (i, j) covers pixels
    [i·block, (i+1)·block) × [j·block, (j+1)·block). `cos2`/`sin2` are the smoothed
    doubled-angle components, kept because interpolating them (not θ) is what is correct.
    """

    theta: F32
    coherence: F32
    contrast: F32
    cos2: F32
    sin2: F32
    block: int


def blur(grid: F32, sigma: float) -> F32:
    """Gaussian smoothing of a float grid (kernel size derived from σ)."""
    return np.asarray(cv2.GaussianBlur(grid, (0, 0), sigma), np.float32)


def block_mean(image: F32, block: int) -> F32:
    """Mean of every block×block cell (the image is reflect-padded to whole blocks)."""
    h, w = image.shape
    gh, gw = -(-h // block), -(-w // block)
    padded = cv2.copyMakeBorder(image, 0, gh * block - h, 0, gw * block - w, cv2.BORDER_REFLECT)
    return np.asarray(cv2.resize(padded, (gw, gh), interpolation=cv2.INTER_AREA), np.float32)


def upsample(grid: F32, block: int, shape: tuple[int, int]) -> F32:
    """Bilinear interpolation of a block grid back to pixels (cell centres stay aligned)."""
    gh, gw = grid.shape
    full = cv2.resize(grid, (gw * block, gh * block), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(full[: shape[0], : shape[1]], dtype=np.float32)


def normalise(pixels: NDArray[np.uint8], block: int) -> tuple[F32, F32]:
    """Zero local mean, unit local contrast: removes uneven pressure and illumination.

    Returns the normalised image and each block's grey-level standard deviation (the raw
    ridge contrast, which segmentation needs because normalisation erases it). Local
    statistics come from block means, smoothed and interpolated, which is as good as a wide
    Gaussian window here and several times cheaper.
    """
    image = pixels.astype(np.float32)
    block_m = block_mean(image, block)
    block_sq = block_mean(image * image, block)
    mean = blur(block_m, 1.0)
    sq = blur(block_sq, 1.0)
    std = np.sqrt(np.maximum(sq - mean * mean, 1.0))
    shape = (image.shape[0], image.shape[1])
    # Ridges are dark: negate so ridges are positive, which the Gabor and binarisation expect.
    normalised = (upsample(mean, block, shape) - image) / upsample(std, block, shape)
    # The contrast reported for segmentation is each block's own spread: the smoothed one
    # above also counts the step between finger and background, which would widen the mask.
    contrast = np.sqrt(np.maximum(block_sq - block_m * block_m, 0.0))
    return np.asarray(normalised, np.float32), np.asarray(contrast, np.float32)


def estimate(normalised: F32, contrast: F32, params: ExtractionParams) -> OrientationField:
    """Orientation and coherence of every block of a normalised image (contrast is kept)."""
    b = params.block
    smooth = blur(normalised, params.gradient_sigma)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    sigma = params.tensor_sigma / b
    gxx = blur(block_mean(gx * gx, b), sigma)
    gyy = blur(block_mean(gy * gy, b), sigma)
    gxy = blur(block_mean(gx * gy, b), sigma)
    vx = gxx - gyy
    vy = 2.0 * gxy
    energy = gxx + gyy
    coherence = np.sqrt(vx * vx + vy * vy) / np.maximum(energy, 1e-6)
    s = params.orientation_smooth_blocks
    vx = blur(vx, s)
    vy = blur(vy, s)
    norm = np.maximum(np.sqrt(vx * vx + vy * vy), 1e-9)
    # The gradient's doubled angle points across ridges; the ridge direction is ⊥ to it,
    # i.e. the doubled angle turned by π: negate both components.
    cos2 = -vx / norm
    sin2 = -vy / norm
    theta = np.mod(0.5 * np.arctan2(sin2, cos2), np.pi)
    return OrientationField(
        theta=theta.astype(np.float32),
        coherence=np.clip(coherence, 0.0, 1.0).astype(np.float32),
        contrast=contrast,
        cos2=cos2.astype(np.float32),
        sin2=sin2.astype(np.float32),
        block=b,
    )
