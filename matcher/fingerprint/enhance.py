"""Contextual enhancement: a bank of even-symmetric Gabor filters tuned to the local flow.

Hong, Wan and Jain (1998) filter each pixel with a Gabor kernel oriented along the local
ridges and tuned to the ridge frequency; it joins broken ridges and separates merged ones.
Two choices make it fast enough for a 25 ms budget on one core:

- an isotropic Gaussian envelope makes every oriented kernel a sum of two *separable*
  kernels (cos(a + b) = cos a·cos b − sin a·sin b), so each orientation costs two 1-D passes;
- the filtered signal is band-limited around the ridge frequency (periods ≥ 5 px), so the
  bank runs on a half-resolution copy (a quarter of the pixels) and the result is
  interpolated back, losing nothing the binarisation needs.

Each pixel takes the responses of its two nearest orientation bins, blended linearly.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.orientation import OrientationField, upsample
from matcher.fingerprint.params import ExtractionParams

F32 = NDArray[np.float32]
Kernels = tuple[tuple[F32, F32, F32, F32], ...]


@lru_cache(maxsize=32)
def _bank(period: float, sigma: float, count: int) -> Kernels:
    """Separable factors (cos_x, cos_y, sin_x, sin_y) of `count` oriented Gabor kernels.

    Cached by (period, σ, count): the period is rounded by the caller, so a handful of banks
    serve every image.
    """
    radius = max(2, int(np.ceil(2.5 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    envelope = np.exp(-(t * t) / (2 * sigma * sigma))
    kernels = []
    for k in range(count):
        # Ridge orientation kπ/count; the wave vector is normal to the ridges.
        normal = k * np.pi / count + np.pi / 2
        u = 2 * np.pi / period * np.cos(normal)
        v = 2 * np.pi / period * np.sin(normal)
        kernels.append(
            (
                (envelope * np.cos(u * t)).astype(np.float32),
                (envelope * np.cos(v * t)).astype(np.float32),
                (envelope * np.sin(u * t)).astype(np.float32),
                (envelope * np.sin(v * t)).astype(np.float32),
            )
        )
    return tuple(kernels)


def _bounding_box(mask: NDArray[np.bool_], margin: int) -> tuple[int, int, int, int]:
    """Even-aligned (top, bottom, left, right) box around the mask plus a margin."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    if len(rows) == 0:
        return 0, h, 0, w
    top = max(0, int(rows[0]) - margin) & ~1
    left = max(0, int(cols[0]) - margin) & ~1
    bottom = min(h, int(rows[-1]) + margin + 1)
    right = min(w, int(cols[-1]) + margin + 1)
    return top, bottom, left, right


def _oriented(half: F32, theta: F32, period: float, params: ExtractionParams) -> F32:
    """Response of the bank tuned to `period` (half-res px), each pixel at its orientation."""
    hh, hw = half.shape
    count = params.gabor_orientations
    sigma = params.gabor_sigma_periods * period
    responses = np.empty((count, hh, hw), np.float32)
    for k, (cx, cy, sx, sy) in enumerate(_bank(round(period, 1), round(sigma, 2), count)):
        even = cv2.sepFilter2D(half, cv2.CV_32F, cx, cy, borderType=cv2.BORDER_REFLECT)
        odd = cv2.sepFilter2D(half, cv2.CV_32F, sx, sy, borderType=cv2.BORDER_REFLECT)
        responses[k] = even - odd
    position = theta * (count / np.pi)
    lower = np.floor(position)
    weight = (position - lower).astype(np.float32)
    k0 = lower.astype(np.int64) % count
    k1 = (k0 + 1) % count
    r0_resp = np.take_along_axis(responses, k0[None], axis=0)[0]
    r1_resp = np.take_along_axis(responses, k1[None], axis=0)[0]
    return np.asarray(r0_resp + weight * (r1_resp - r0_resp), np.float32)


def _half_res(grid: F32, block: int, top: int, left: int, shape: tuple[int, int]) -> F32:
    """A block-grid map interpolated at the half-resolution crop's pixels."""
    gh, gw = grid.shape
    hb = block // 2
    full = upsample(grid, hb, (gh * hb, gw * hb))
    r0, c0 = top // 2, left // 2
    return np.ascontiguousarray(full[r0 : r0 + shape[0], c0 : c0 + shape[1]])


def enhance(
    normalised: F32,
    field: OrientationField,
    period: float,
    mask: NDArray[np.bool_],
    params: ExtractionParams,
    local_period: F32 | None = None,
) -> F32:
    """Gabor-enhanced image at full resolution: positive on ridges, negative in valleys.

    With a `local_period` block map, banks tuned to `gabor_period_levels` × `period` run
    and each pixel blends the two levels around its local period (ridges are denser near
    the tip and the flexion crease than at the core). Pixels outside the foreground box are
    0. The caller binarises with `> 0`.
    """
    h, w = normalised.shape
    top, bottom, left, right = _bounding_box(mask, margin=16)
    crop = normalised[top:bottom, left:right]
    half = np.asarray(cv2.pyrDown(crop), np.float32)
    hh, hw = half.shape
    cos2 = _half_res(field.cos2, field.block, top, left, (hh, hw))
    sin2 = _half_res(field.sin2, field.block, top, left, (hh, hw))
    theta = np.mod(0.5 * np.arctan2(sin2, cos2), np.pi).astype(np.float32)
    levels = sorted(params.gabor_period_levels)
    if local_period is None:
        # No local map: the single level nearest the finger's own period serves everywhere.
        levels = [min(levels, key=lambda v: abs(v - 1.0))]
    banks = np.stack([_oriented(half, theta, period * lv / 2, params) for lv in levels])
    if len(levels) == 1 or local_period is None:
        blended = banks[0]
    else:
        ratio = _half_res(local_period, field.block, top, left, (hh, hw)) / period
        steps = np.asarray(levels, np.float32)
        idx = np.clip(np.searchsorted(steps, ratio), 1, len(levels) - 1)
        lo, hi = steps[idx - 1], steps[idx]
        a = np.clip((ratio - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
        b0 = np.take_along_axis(banks, (idx - 1)[None], axis=0)[0]
        b1 = np.take_along_axis(banks, idx[None], axis=0)[0]
        blended = b0 + a * (b1 - b0)
    up = cv2.resize(blended, (hw * 2, hh * 2), interpolation=cv2.INTER_CUBIC)
    out = np.zeros((h, w), np.float32)
    out[top:bottom, left:right] = up[: bottom - top, : right - left]
    return out
