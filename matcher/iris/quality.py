"""Capture quality 0–100 with reasons an operator can act on (ISO/IEC 29794-6 in spirit).

Four measured factors, each mapped to [0, 1] and multiplied: usable iris (occlusion by lids,
lashes, glare), sharpness (focus and motion blur), pupil dilation (extreme dilation leaves
little texture) and gaze (pupil centre far from the limbus centre means the eye looked away).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.iris.types import IrisQuality, Segmentation

# Factor thresholds: below `lo` the factor is 0, above `hi` it is 1, linear in between.
USABLE_LO, USABLE_HI = 0.4, 0.8  # 0.4 is also the rejection level
SHARP_LO, SHARP_HI = 0.015, 0.05
DILATION_OK, DILATION_MAX = 0.6, 0.8
GAZE_OK, GAZE_MAX = 0.12, 0.35


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


def assess(filled: NDArray[np.float32], seg: Segmentation, usable: float) -> IrisQuality:
    """Score one capture (`usable`: visible share of the code); no reasons = a good one."""
    sharp = sharpness(filled, seg)
    dilation = seg.pupil.r / seg.limbus.r
    gaze = float(np.hypot(seg.pupil.x - seg.limbus.x, seg.pupil.y - seg.limbus.y)) / seg.limbus.r
    factors = {
        "occlusion": _ramp(usable, USABLE_LO, USABLE_HI),
        "blur": _ramp(sharp, SHARP_LO, SHARP_HI),
        "dilation": 1.0 - _ramp(dilation, DILATION_OK, DILATION_MAX),
        "off_gaze": 1.0 - _ramp(gaze, GAZE_OK, GAZE_MAX),
    }
    messages = {
        "occlusion": "iris occluded by eyelids, lashes or glare: ask to open the eye wider",
        "blur": "image out of focus or moving: hold still at the right distance",
        "dilation": "pupil very dilated: capture in brighter ambient light",
        "off_gaze": "eye not looking at the camera: ask to look straight into the lens",
    }
    reasons = tuple(messages[k] for k, v in factors.items() if v < 0.5)
    score = 100.0 * float(np.prod(list(factors.values()))) ** 0.5
    return IrisQuality(
        score=round(score),
        usable_fraction=round(usable, 4),
        sharpness=round(sharp, 4),
        dilation=round(dilation, 4),
        gaze_offset=round(gaze, 4),
        reasons=reasons,
    )
