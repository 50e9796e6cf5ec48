"""Capture quality 0–100 with reasons an operator can act on (ISO/IEC 29794-6 in spirit).

Six measured factors, each mapped to [0, 1] and multiplied:
- usable iris area: visible iris pixels (annulus × visible share); a small iris in the frame
  carries few pixels of texture per code bit whatever its occlusion ("move closer");
- occlusion: share of the code hidden by lids, lashes and glare ("open the eye wider");
- focus: band-pass energy of the visible iris (defocus and motion blur);
- pupil dilation: a very dilated pupil leaves a thin band of texture;
- off-angle: an eye that looks away shows an elliptical pupil (foreshortening by the cosine
  of the angle) and a pupil far from the limbus centre;
each with its own reason. A factor below one half gives its reason; no reasons = a good one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.iris.types import IrisQuality, Segmentation

# Factor thresholds: below `lo` the factor is 0, above `hi` it is 1, linear in between.
USABLE_LO, USABLE_HI = 0.4, 0.8  # 0.4 is also the rejection level
# Visible iris pixels in the working frame (320 px wide): an iris of radius 50 px with a
# pupil of 20 px and a third hidden holds ~4,400 px (ISO/IEC 19794-6 calls a 50 px radius
# the least acceptable); 9,000 px is a 70 px iris barely occluded.
AREA_LO, AREA_HI = 2500.0, 9000.0
SHARP_LO, SHARP_HI = 0.015, 0.05
DILATION_OK, DILATION_MAX = 0.6, 0.8
GAZE_OK, GAZE_MAX = 0.12, 0.35
# Pupil ellipticity (1 − minor/major axis): real frontal pupils measure a few percent;
# 0.08 is ~23° off axis, 0.22 ~39° (the fit reads a blurred 45° pupil as 0.18-0.27).
ELLIPTIC_OK, ELLIPTIC_MAX = 0.08, 0.22

MESSAGES = {
    "area": "iris too small in the frame: move the camera closer to the eye",
    "occlusion": "iris occluded by eyelids, lashes or glare: ask to open the eye wider",
    "blur": "image out of focus or moving: hold still at the right distance",
    "dilation": "pupil very dilated: capture in brighter ambient light",
    "off_angle": "eye not looking at the camera: ask to look straight into the lens",
}


def _ramp(v: float, lo: float, hi: float) -> float:
    return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))


def sharpness(filled: NDArray[np.float32], seg: Segmentation) -> float:
    """Band-pass energy of the visible iris relative to its brightness (scale-free focus)."""
    h, w = filled.shape
    yy, xx = np.ogrid[0:h, 0:w]
    d_l = np.hypot(xx - seg.limbus.x, yy - seg.limbus.y)
    d_p = np.hypot(xx - seg.pupil.x, yy - seg.pupil.y)
    region = (d_l < seg.limbus.r * 0.9) & (d_p > seg.pupil.r * 1.15) & ~seg.noise
    if region.sum() < 100:
        return 0.0
    fine = filled - cv2.GaussianBlur(filled, (0, 0), 1.0)
    return float(np.sqrt(np.mean(fine[region] ** 2)) / max(1.0, float(filled[region].mean())))


def pupil_ellipticity(filled: NDArray[np.float32], seg: Segmentation) -> float:
    """1 − minor/major axis of the dark pupil: the foreshortening of an off-axis gaze.

    The pupil's dark pixels (below midway between its and the nearby iris's median grey levels)
    connected to the found centre give a radius per angle; r(θ) ≈ r₀ + A·cos 2(θ − φ) is
    fitted by least squares twice, the second time without the angles the first fit missed
    by more than 3 robust SDs (an eyelid across the pupil, lashes joined to it, a glint on
    its edge), and (r₀ − A)/(r₀ + A) is the axis ratio. 0 when the pupil cannot be measured.
    """
    p = seg.pupil
    h, w = filled.shape
    yy, xx = np.ogrid[0:h, 0:w]
    d = np.hypot(xx - p.x, yy - p.y)
    # The iris ring next to the pupil, never reaching the sclera of a dilated eye.
    outer = 1.1 * p.r + 0.5 * (seg.limbus.r - p.r)
    inside, ring = filled[d < 0.7 * p.r], filled[(d > 1.1 * p.r) & (d < outer)]
    if inside.size < 20 or ring.size < 20:
        return 0.0
    level = 0.5 * (float(np.median(inside)) + float(np.median(ring)))
    theta = np.linspace(0.0, 2 * np.pi, 72, endpoint=False)
    steps = np.arange(0.0, 1.5 * p.r, 0.5)
    xs = np.clip(np.round(p.x + np.cos(theta)[:, None] * steps), 0, w - 1).astype(np.intp)
    ys = np.clip(np.round(p.y + np.sin(theta)[:, None] * steps), 0, h - 1).astype(np.intp)
    dark = filled[ys, xs] < level
    # Radius per angle: the first step out of the dark run that starts at the centre.
    radius = steps[np.argmin(np.concatenate([dark, np.zeros((72, 1), bool)], axis=1), axis=1) - 1]
    keep = (radius > 0.3 * p.r) & (radius < 1.45 * p.r)
    design = np.stack([np.ones_like(theta), np.cos(2 * theta), np.sin(2 * theta)], axis=1)
    for _ in range(2):
        if keep.sum() < 24:
            return 0.0
        coef, *_ = np.linalg.lstsq(design[keep], radius[keep], rcond=None)
        resid = radius - design @ coef
        spread = 1.4826 * float(np.median(np.abs(resid[keep]))) + 0.5
        keep &= np.abs(resid) <= 3.0 * spread
    r0, amp = float(coef[0]), float(np.hypot(coef[1], coef[2]))
    if r0 <= amp:
        return 0.0
    return float(1.0 - (r0 - amp) / (r0 + amp))


def assess(filled: NDArray[np.float32], seg: Segmentation, usable: float) -> IrisQuality:
    """Score one capture (`usable`: visible share of the code); no reasons = a good one."""
    sharp = sharpness(filled, seg)
    dilation = seg.pupil.r / seg.limbus.r
    gaze = float(np.hypot(seg.pupil.x - seg.limbus.x, seg.pupil.y - seg.limbus.y)) / seg.limbus.r
    elliptic = pupil_ellipticity(filled, seg)
    area = math.pi * (seg.limbus.r**2 - seg.pupil.r**2) * usable
    factors = {
        "area": _ramp(area, AREA_LO, AREA_HI),
        "occlusion": _ramp(usable, USABLE_LO, USABLE_HI),
        "blur": _ramp(sharp, SHARP_LO, SHARP_HI),
        "dilation": 1.0 - _ramp(dilation, DILATION_OK, DILATION_MAX),
        "off_angle": min(
            1.0 - _ramp(gaze, GAZE_OK, GAZE_MAX),
            1.0 - _ramp(elliptic, ELLIPTIC_OK, ELLIPTIC_MAX),
        ),
    }
    weak = [k for k, v in factors.items() if v < 0.5]
    score = 100.0 * float(np.prod(list(factors.values()))) ** 0.5
    return IrisQuality(
        score=round(score),
        usable_fraction=round(usable, 4),
        sharpness=round(sharp, 4),
        dilation=round(dilation, 4),
        gaze_offset=round(gaze, 4),
        reasons=tuple(MESSAGES[k] for k in weak),
        usable_area=round(area, 1),
        pupil_ellipticity=round(elliptic, 4),
        reason_codes=tuple(f"iris_{k}" for k in weak),
    )
