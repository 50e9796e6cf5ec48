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
) -> MinutiaSet:
    """The student's minutiae of a 500 dpi finger whose classical analysis is `classical`."""
    crop, top, left = learned.network_input(finger.pixels, classical.mask)
    maps = network.run(None, {"image": normalise(crop)[None, None]})[0][0]
    found = decode(maps, threshold)
    shifted = dataclasses.replace(found, x=found.x + left, y=found.y + top)
    return learned.minutia_set(shifted, finger, classical, EXTRACTOR)
