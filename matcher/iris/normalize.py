"""Daugman's rubber-sheet model: the iris annulus unwrapped to a fixed (radius, angle) grid.

Each sample lies on the straight segment from the pupil boundary to the limbus at the same
angle, x(r, θ) = (1 − r)·x_p(θ) + r·x_s(θ), so pupil dilation, iris size and the offset
between pupil and limbus centres are all normalised away; only rotation remains (a shift
along the angle axis, undone at comparison time).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.iris.params import IrisParams
from matcher.iris.types import Segmentation


@dataclass(frozen=True, eq=False)
class NormalizedIris:
    """The unwrapped iris (rows: pupil → limbus, columns: angle from +x, y down) and noise."""

    image: NDArray[np.float32]
    noise: NDArray[np.bool_]


def sampling_grid(
    seg: Segmentation, params: IrisParams
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Image coordinates (map_x, map_y) of every rubber-sheet sample."""
    n_r, n_a = params.norm_radial, params.norm_angular
    theta = np.arange(n_a, dtype=np.float32) * np.float32(2 * np.pi / n_a)
    rr = params.r_inner + (params.r_outer - params.r_inner) * (
        (np.arange(n_r, dtype=np.float32) + 0.5) / n_r
    )
    cos, sin = np.cos(theta), np.sin(theta)
    p, s = seg.pupil, seg.limbus
    xp, yp = p.x + p.r * cos, p.y + p.r * sin
    xs, ys = s.x + s.r * cos, s.y + s.r * sin
    r = rr[:, None].astype(np.float32)
    map_x = (1 - r) * xp[None, :] + r * xs[None, :]
    map_y = (1 - r) * yp[None, :] + r * ys[None, :]
    return map_x.astype(np.float32), map_y.astype(np.float32)


def robust_noise(
    image: NDArray[np.float32], noise: NDArray[np.bool_], params: IrisParams
) -> NDArray[np.bool_]:
    """Add eyelashes (much darker than the iris) and skin or glare (much brighter) to `noise`.

    Thresholds are in robust standard deviations (median absolute deviation) of the visible
    iris, so they adapt to each eye's own brightness and contrast.
    """
    valid = image[~noise]
    if valid.size < 64:
        return np.ones_like(noise)
    med = float(np.median(valid))
    mad = max(1.0, 1.4826 * float(np.median(np.abs(valid - med))))
    # The upper half (angles 180°–360°, y up) is where lashes hang over the iris, so darker
    # pixels there are lashes far more often than crypts: a stricter threshold.
    n_a = image.shape[1]
    sig = np.full(n_a, params.lash_sigmas, dtype=np.float32)
    sig[n_a // 2 :] = params.upper_lash_sigmas
    dark = image < med - sig[None, :] * mad
    outlier = dark | (image > med + params.skin_sigmas * mad)
    # Eyelash strands are wider than one rubber-sheet sample once blurred by the optics.
    grown = cv2.dilate(outlier.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return noise | grown | outer_skin(image, med, mad, params) | lid_occlusion(dark | noise, params)


def lid_occlusion(dark: NDArray[np.bool_], params: IrisParams) -> NDArray[np.bool_]:
    """The upper lid's shadow: samples whose outward suffix is mostly lashes or noise.

    Lashes hang from the upper lid, so what hides the iris there grows from the limbus
    inwards; where most samples from a point out to the limbus are lash-dark or masked, the
    texture between the strands is lid-shadowed and blurred too and is dropped with them.
    Only the upper half of the sheet (angles 180°–360°, y up) is tested: below the pupil,
    dark samples are crypts far more often than lashes.
    """
    n_r, n_a = dark.shape
    counts = np.cumsum(dark[::-1].astype(np.float32), axis=0)[::-1]
    suffix = counts / np.arange(n_r, 0, -1, dtype=np.float32)[:, None]
    occluded = suffix > params.lash_occlusion_share
    occluded[:, : n_a // 2] = False
    return occluded


def outer_skin(
    image: NDArray[np.float32], med: float, mad: float, params: IrisParams
) -> NDArray[np.bool_]:
    """Eyelid skin or sclera reaching in from the limbus side of the sheet.

    Skin is smooth and brighter than iris texture; where an eyelid edge was missed (a soft,
    low-contrast lower lid, say) it shows in the sheet as a bright region running from the
    outer rows inwards. On a blurred sheet, a sample counts as skin when it is bright and
    most samples from it out to the limbus are bright too (a suffix test per angle column),
    so isolated bright texture inside the iris is kept.
    """
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    bright = (blurred > med + params.outer_skin_sigmas * mad).astype(np.float32)
    n_r = image.shape[0]
    # Mean brightness of each sample's outer suffix (itself out to the last row).
    suffix = np.cumsum(bright[::-1], axis=0)[::-1] / np.arange(n_r, 0, -1)[:, None]
    return (suffix > 0.8) & (bright > 0)


def normalize(filled: NDArray[np.float32], seg: Segmentation, params: IrisParams) -> NormalizedIris:
    """Unwrap the reflection-filled working image and its noise mask onto the rubber sheet."""
    map_x, map_y = sampling_grid(seg, params)
    h, w = filled.shape
    img = np.asarray(
        cv2.remap(filled, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        dtype=np.float32,
    )
    outside = (map_x < 0) | (map_x > w - 1) | (map_y < 0) | (map_y > h - 1)
    noise = cv2.remap(
        seg.noise.astype(np.uint8), map_x, map_y, cv2.INTER_NEAREST, borderValue=1
    ).astype(bool)
    noise |= outside
    return NormalizedIris(image=img, noise=robust_noise(img, noise, params))
