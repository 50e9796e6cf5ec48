"""Foreground segmentation: which blocks show finger ridges and which show sensor background.

A block is finger when it has both ridge contrast (grey-level spread, relative to the image's
own strong ridges so light and dark captures segment alike) and ridge flow (coherence: noise
and latent smudges have contrast but no consistent orientation). The raw decision is then
regularised the way a finger is shaped: one connected region, no holes (cores and deltas have
low coherence but are finger), a smooth border, and eroded so that minutiae on ridges cut by
the contact edge are not taken.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.orientation import OrientationField, upsample
from matcher.fingerprint.params import ExtractionParams

Mask = NDArray[np.bool_]


def _largest_component(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count <= 1:
        return mask
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == best).astype(np.uint8)


def _fill_holes(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Background components that do not touch the image border are holes in the finger."""
    inverse = (1 - mask).astype(np.uint8)
    count, labels = cv2.connectedComponents(inverse, connectivity=4)
    if count <= 1:
        return mask
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, border[border > 0])
    return (~outside).astype(np.uint8)


def contrast_threshold(contrast: NDArray[np.float32], params: ExtractionParams) -> float:
    """Grey-level spread separating finger from background blocks.

    Otsu's threshold on the block contrasts splits the two populations whatever the
    capture's exposure; it is clamped to a band relative to the image's strong ridges, so an
    image that is nearly all finger (Otsu would then split the finger itself) or nearly all
    background still segments sensibly.
    """
    strong = float(np.percentile(contrast, 95))
    scaled = np.clip(contrast * (255.0 / max(strong, 1e-6)), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    lo, hi = params.mask_contrast_band
    return float(np.clip(otsu * strong / 255.0, lo * strong, hi * strong))


def block_mask(field: OrientationField, params: ExtractionParams) -> Mask:
    """Foreground blocks of the orientation field's grid."""
    contrast = field.contrast
    if float(contrast.max()) <= 0:
        return np.zeros(contrast.shape, dtype=bool)
    # Ridge flow rescues faint blocks: a block of clearly oriented ridges counts with only
    # half the contrast (dry or lightly pressed skin), noise never does.
    t = contrast_threshold(contrast, params)
    raw = (contrast > t) | ((contrast > 0.5 * t) & (field.coherence > params.mask_min_coherence))
    mask = raw.astype(np.uint8)
    k = 2 * params.mask_close_blocks + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    padded = cv2.copyMakeBorder(mask, k, k, k, k, cv2.BORDER_CONSTANT, value=0)
    closed = np.asarray(cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel), np.uint8)
    # Opening with a disc of 5 blocks (40 px) removes anything narrower than a fingertip:
    # sensor edge lines, smudges, and thin necks joining them to the finger.
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    opened = cv2.morphologyEx(closed[k:-k, k:-k], cv2.MORPH_OPEN, disc)
    mask = np.asarray(opened, np.uint8)
    mask = _fill_holes(_largest_component(mask))
    if params.mask_erode_blocks > 0:
        e = 2 * params.mask_erode_blocks + 1
        eroded = cv2.erode(
            mask, np.ones((e, e), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0
        )
        mask = np.asarray(eroded, np.uint8)
    return mask.astype(bool)


def border_distance(mask: Mask) -> NDArray[np.float32]:
    """Distance (px) of every pixel to the nearest background pixel or image edge.

    The image edge counts as border: a finger pressed past the sensor's edge has its ridges
    cut there just as at the contact border.
    """
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, 3)
    return np.ascontiguousarray(distance[1:-1, 1:-1], dtype=np.float32)


def pixel_mask(blocks: Mask, block: int, shape: tuple[int, int]) -> Mask:
    """The block mask at pixel resolution, with a smooth (interpolated) contour."""
    return upsample(blocks.astype(np.float32), block, shape) > 0.5
