"""Minutiae from the student network: LEADER's answers, learned by a network small enough
for a terminal request (tens of milliseconds on one core instead of about a second).

The student (`benchmarks/student/`: architecture, training script and data recipe) was
distilled from LEADER's minutiae on the FVC2002 B sets and judged on the FVC2000 B sets it
never saw. It sees the same finger crop LEADER sees and answers at half resolution: a
minutia score, the direction as cosine and sine, and an ending-versus-bifurcation score per
2 px cell. Minutiae are the cells that are local maxima of the score above the threshold
that best agreed with the teacher on the training images.

The model file ships inside this package; its SHA-256 is checked before onnxruntime sees
the bytes, so a damaged or substituted file is refused with `ModelIntegrityError`. The
classical pipeline still runs for the capture's quality score and reasons, and for the
foreground mask and ridge period the comparison stage uses.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint import learned
from matcher.fingerprint.extract import Extraction, ImageInput, analyse
from matcher.fingerprint.image import FingerImage, load
from matcher.fingerprint.types import MinutiaSet

EXTRACTOR = "student-onnx/1"
MODEL = Path(__file__).parent / "data" / "student-1.onnx"
MODEL_SHA256 = "e0bff52dfad27a9349e0b438d20a8ee83a5f875ba43054e29bf739766105ba44"
# Minutia score from which a local maximum is a minutia (agreement with the teacher).
DETECTION_THRESHOLD = 0.35
MAX_MINUTIAE = learned.MAX_MINUTIAE
# Ridge period (px at 500 dpi) of the images the student learned from: the classical
# pipeline's estimate on the FVC2002 B images has median 8.8 px (7.5–9.5 by sensor). The
# network does not generalise to much wider ridges (FVC2000 DB3: median 12.3 px, where
# the student alone had 13.3% EER), so such fingers may be shrunk to it, never by more
# than `MIN_SCALE`.
TRAINED_RIDGE_PERIOD = 9.0
MIN_SCALE = 0.6


def normalise(pixels: NDArray[np.floating] | NDArray[np.uint8]) -> NDArray[np.float32]:
    """Zero mean, unit spread: the network must not care about a sensor's grey levels."""
    x = np.asarray(pixels, dtype=np.float32)
    return ((x - x.mean()) / max(float(x.std()), 1.0)).astype(np.float32)


def decode(maps: NDArray[np.float32], threshold: float = DETECTION_THRESHOLD) -> learned.Detections:
    """(x, y, direction, ending, score) of the local maxima of the network's half-resolution
    score map above `threshold`, in full-resolution pixels, strongest first."""
    score = 1.0 / (1.0 + np.exp(-maps[0]))
    peak = (score >= threshold) & (score >= cv2.dilate(score, np.ones((3, 3), np.uint8)))
    ys, xs = np.nonzero(peak)
    order = np.argsort(-score[ys, xs], kind="stable")[:MAX_MINUTIAE]
    ys, xs = ys[order], xs[order]
    return learned.Detections(
        x=(2 * xs + 0.5).astype(np.float32),
        y=(2 * ys + 0.5).astype(np.float32),
        angle=np.arctan2(maps[2, ys, xs], maps[1, ys, xs]).astype(np.float32),
        ending=maps[3, ys, xs] >= 0,
        score=score[ys, xs].astype(np.float32),
    )


def extract(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    model: Path = MODEL,
    expected_sha256: str = MODEL_SHA256,
) -> MinutiaSet:
    """Minutiae found by the student, at 500 dpi, with the classical quality and mask.

    Raises `FingerprintImageError` for unusable input (as every extractor does) and
    `ModelError` / `ModelIntegrityError` when the model is missing or not the expected file.
    """
    network = checked_session(model, expected_sha256)
    finger = load(image, resolution_dpi=resolution_dpi)
    return detect(network, finger, analyse(finger.pixels))


def checked_session(model: Path = MODEL, expected_sha256: str = MODEL_SHA256) -> Any:
    """The onnxruntime session of the student file, refused unless it is the measured one."""
    if not model.is_file():
        raise learned.ModelError(f"the student model file {model} is missing")
    return learned.session(model, expected_sha256)


def detect(
    network: Any,
    finger: FingerImage,
    classical: Extraction,
    threshold: float = DETECTION_THRESHOLD,
    *,
    match_period: bool = False,
) -> MinutiaSet:
    """The student's minutiae of a 500 dpi finger whose classical analysis is `classical`.

    With `match_period`, a finger whose ridges are wider apart than the training images'
    (`TRAINED_RIDGE_PERIOD`) is shrunk until they match before the network sees it.
    """
    crop, top, left = learned.network_input(finger.pixels, classical.mask)
    period = classical.minutiae.extras.get("ridge_period")
    scale = period_scale(period) if match_period and isinstance(period, float) else 1.0
    if scale != 1.0:
        crop = _shrunk(crop, scale)
    maps = network.run(None, {"image": normalise(crop)[None, None]})[0][0]
    found = decode(maps, threshold)
    shifted = dataclasses.replace(found, x=found.x / scale + left, y=found.y / scale + top)
    return learned.minutia_set(shifted, finger, classical, EXTRACTOR)


def period_scale(ridge_period: float) -> float:
    """Factor (≤ 1) that brings a ridge period of `ridge_period` px to the trained one."""
    return float(np.clip(TRAINED_RIDGE_PERIOD / ridge_period, MIN_SCALE, 1.0))


def _shrunk(crop: NDArray[np.float32], scale: float) -> NDArray[np.float32]:
    """`crop` resized by `scale`, padded again to the network's multiple with its median."""
    h, w = crop.shape
    small = cv2.resize(crop, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    m = learned.SIZE_MULTIPLE
    padded = np.full(
        (-(-small.shape[0] // m) * m, -(-small.shape[1] // m) * m),
        float(np.median(crop)),
        dtype=np.float32,
    )
    padded[: small.shape[0], : small.shape[1]] = small
    return padded
