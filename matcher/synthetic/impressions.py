"""Impressions of a master fingerprint image, with their ground-truth minutiae.

Each capture, after SFinGe: a partial contact region, ridge thickness changed by skin
pressure and moisture (dry skin: thin, broken ridges by erosion of the ridge map; wet skin:
thick, merging ridges by dilation), plastic distortion and placement (`Warp`), uneven
contrast, sensor noise and blur. The master's minutiae go through the same `Warp`, so the
truth stays aligned with the pixels. Everything is deterministic by (impression seed, master
seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.distortion import Placement, Warp
from matcher.synthetic.minutiae import rng_for
from matcher.synthetic.orientation import FingerShape
from matcher.synthetic.ridges import MasterFingerprint


@dataclass(frozen=True)
class ImageImpressionParams(Placement):
    """Capture conditions; the defaults give moderate-quality flat impressions."""

    # Pressure/moisture drawn from [−range, range]: < 0 dry (thin ridges), > 0 wet (thick).
    pressure_range: float = 0.55
    # A fixed pressure instead of a random one (benchmarks by condition).
    pressure: float | None = None
    # Sensor noise (grey levels, σ) and optical blur (px, σ), each drawn up to these values.
    max_noise: float = 12.0
    max_blur: float = 1.0
    # Truth keeps minutiae at least this far inside the contact region and the image.
    truth_margin: float = 8.0


# Named capture conditions. "moderate" (the defaults) is what the extraction targets refer to:
# noticeable but not extreme dryness or wetness, sensor noise and distortion. "poor" adds dry
# skin with many ridge breaks, strong noise and blur, small contact and twisted placements.
QUALITY_PRESETS: dict[str, ImageImpressionParams] = {
    "good": ImageImpressionParams(
        distortion=0.6, contact_min=0.85, pressure_range=0.3, max_noise=6.0, max_blur=0.7
    ),
    "moderate": ImageImpressionParams(),
    "poor": ImageImpressionParams(
        max_rotation_deg=25.0,
        distortion=1.5,
        contact_min=0.6,
        pressure_range=0.95,
        max_noise=20.0,
        max_blur=1.5,
    ),
}


@dataclass(frozen=True)
class ImageImpression:
    """An 8-bit impression, its ground truth and how it was made."""

    image: NDArray[np.uint8]
    minutiae: MinutiaSet
    warp: Warp
    pressure: float


def impression_image(
    master: MasterFingerprint, seed: int, params: ImageImpressionParams | None = None
) -> ImageImpression:
    """Render one impression of `master`, deterministic by (`seed`, the master's seed)."""
    p = params or ImageImpressionParams()
    rng = rng_for(seed, master.seed, 0x1A9)
    h, w = master.mask.shape
    warp, contact = p.sample(rng, master.shape)
    drawn = float(rng.uniform(-p.pressure_range, p.pressure_range))
    pressure = drawn if p.pressure is None else p.pressure

    ink = _pressed_ridges(master, pressure, rng)
    # Soft contact edge: skin lifts off the sensor over a few pixels.
    touch = cv2.GaussianBlur(contact.mask(w, h, margin=3).astype(np.float32), (0, 0), 3)
    ink *= touch

    vv, uu = np.mgrid[0:h, 0:w].astype(np.float64)
    map_x, map_y = warp.inverse(uu, vv)
    warped = cv2.remap(
        ink,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    image = _render(np.asarray(warped, dtype=np.float32), rng, p)
    truth = _truth(master, warp, contact, p.truth_margin)
    return ImageImpression(image=image, minutiae=truth, warp=warp, pressure=pressure)


def _pressed_ridges(
    master: MasterFingerprint, pressure: float, rng: np.random.Generator
) -> NDArray[np.float32]:
    """Ridge ink in [0, 1] after pressure: erosion (dry, with breaks) or dilation (wet)."""
    ink = ((np.clip(master.ridges, -1, 1) + 1) / 2).astype(np.float32)
    strength = abs(pressure)
    if strength > 0.25:
        size = 3 if strength < 0.7 else 5
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        morphed = cv2.erode(ink, kernel) if pressure < 0 else cv2.dilate(ink, kernel)
        # Blend so the change grows smoothly with pressure instead of jumping per kernel size.
        blend = min(1.0, (strength - 0.25) / 0.35 + 0.3)
        ink = (1 - blend) * ink + blend * morphed
    if pressure < -0.3:
        # Dry skin leaves gaps along ridges: knock out ink under low-frequency noise blobs.
        h, w = ink.shape
        noise = np.asarray(
            cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 2.5),
            dtype=np.float32,
        )
        noise /= np.float32(noise.std() or 1.0)
        ink *= (noise < 2.6 - 2.0 * strength).astype(np.float32)
    return ink


def _render(
    ink: NDArray[np.float32], rng: np.random.Generator, p: ImageImpressionParams
) -> NDArray[np.uint8]:
    """Grey levels: light background, dark ridges with uneven contrast, noise and blur."""
    h, w = ink.shape
    background = rng.uniform(215, 245)
    coarse = rng.uniform(0.65, 1.0, (4, 3)).astype(np.float32)
    low = np.asarray(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    contrast = rng.uniform(150, 190) * np.clip(low, 0.5, 1.0)
    blur = rng.uniform(0.3, 1.0) * p.max_blur
    grey = np.asarray(
        cv2.GaussianBlur((background - contrast * ink).astype(np.float32), (0, 0), blur),
        dtype=np.float32,
    )
    grey += rng.normal(0, rng.uniform(0.15, 1.0) * p.max_noise, (h, w)).astype(np.float32)
    return np.clip(grey, 0, 255).astype(np.uint8)


def _truth(
    master: MasterFingerprint,
    warp: Warp,
    contact: FingerShape,
    margin: float,
) -> MinutiaSet:
    """Master minutiae seen in this impression, moved by the warp."""
    m = master.minutiae
    x = m.x.astype(np.float64)
    y = m.y.astype(np.float64)
    seen = contact.contains(x, y, margin)
    ux, uy = warp.forward(x, y)
    direction = warp.forward_directions(x, y, m.direction.astype(np.float64))
    h, w = master.mask.shape
    seen &= (ux >= margin) & (ux < w - margin) & (uy >= margin) & (uy < h - margin)
    truth = MinutiaSet.from_arrays(
        ux[seen],
        uy[seen],
        direction[seen],
        m.kind[seen],
        m.quality[seen],
        width=w,
        height=h,
        finger_position=m.finger_position,
        image_quality=m.image_quality,
    )
    truth.extras["source"] = np.flatnonzero(seen)
    return truth
