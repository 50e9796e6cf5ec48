"""The default extractor: the student network's minutiae joined by the Gabor pipeline's.

Why two extractors in one template: they fail differently. The student (distilled from
LEADER) finds minutiae the Gabor pipeline misses on sensors that pipeline was not tuned for,
and the Gabor pipeline still finds what the student misses on sensors it never saw (large
optical captures above all). A genuine comparison needs only enough of the same minutiae
on both sides, so the union lifts genuine scores on every sensor. Measured on seven FVC
sets of seven sensors (all pairs, thresholds fitted on the other six sets' impostors,
`satupintu-bench fusion-rules`): FNMR at FMR 1e-3 8.9% for the Gabor pipeline, 10.0% for
the student, 5.5% for the union at the student's own threshold, 4.85% at the threshold
below, 3.8% with the ridge period matched as well (`student.detect`), where a
comparison-level fusion of the two (mean or maximum of the two scores) reached 5.3–5.7% at
twice the comparison cost and with two templates per finger.

Where both found the same minutia (within `SAME_DISTANCE` px and `SAME_ANGLE`), the
student's is kept: its positions and directions are the teacher's, which agree with other
vendors' extractors. The union is denser than either set, so impostors find consistent
structures more often; the shipped calibration is made for such templates (see
`matcher.fingerprint.synthetic_calibration`).

The classical pipeline runs once and serves both: its minutiae, and the quality score and
reasons, foreground mask and ridge period every extractor reports. Cost: the classical
pipeline plus one student inference (about 35 ms of CPU an image).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from matcher.fingerprint import student
from matcher.fingerprint.extract import Extraction, ImageInput
from matcher.fingerprint.extract import analyse as classical_analysis
from matcher.fingerprint.image import load
from matcher.fingerprint.types import MinutiaSet

EXTRACTOR = "fused-gabor1-student1/1"
# A Gabor minutia this close to a student minutia, in position (px at 500 dpi) and direction,
# is the same minutia. Chosen on the union's all-pairs FNMR at FMR 1e-3: 5, 8 and 12 px gave
# 5.8%, 5.5% and 5.8% averaged over seven sets, so about one ridge period.
SAME_DISTANCE = 8.0
SAME_ANGLE = math.pi / 4
# The student's score from which a local maximum is a minutia here. Lower than the student's
# own threshold: the Gabor minutiae already cover the confident ones, and a few more weak
# student minutiae add genuine pairs. Chosen on the four FVC2002 sets (mean of all-pairs EER
# and FMR1000: 1.52% at 0.25, 1.56% at 0.3, 1.79% at 0.35, worse at 0.2 and 0.5), the
# FVC2000 sets held out.
DETECTION_THRESHOLD = 0.25


def union(
    learned: MinutiaSet, classical: MinutiaSet, *, same_distance: float = SAME_DISTANCE
) -> MinutiaSet:
    """`learned`'s minutiae plus those of `classical` that `learned` does not already hold
    (none within `same_distance` px and `SAME_ANGLE`).

    Every other field (size, quality, mask, period) is `learned`'s, which carries the
    classical analysis already.
    """
    if len(learned) and len(classical):
        dist = np.hypot(
            learned.x[:, None] - classical.x[None, :], learned.y[:, None] - classical.y[None, :]
        )
        turn = np.abs(
            (learned.direction[:, None] - classical.direction[None, :] + np.pi) % (2 * np.pi)
            - np.pi
        )
        new = ~((dist <= same_distance) & (turn <= SAME_ANGLE)).any(axis=0)
    else:
        new = np.ones(len(classical), dtype=np.bool_)

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(learned, name), getattr(classical, name)[new]])

    return dataclasses.replace(
        learned,
        x=joined("x"),
        y=joined("y"),
        direction=joined("direction"),
        kind=joined("kind"),
        quality=joined("quality"),
        extractor=EXTRACTOR,
        extras=dict(learned.extras),
    )


def analyse(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    model: Path = student.MODEL,
    expected_sha256: str = student.MODEL_SHA256,
) -> tuple[Extraction, MinutiaSet]:
    """The classical analysis of `image` with the fused minutiae in place of its own, and the
    classical (Gabor) minutiae it replaced.

    The classical set costs nothing more here, and a gallery enrolled by the classical
    extractor alone is best compared with it: like with like, under that extractor's own
    calibration, until the gallery is re-extracted.

    Raises `FingerprintImageError` for unusable input and `ModelError` /
    `ModelIntegrityError` when the student model is missing or not the expected file.
    """
    network = student.checked_session(model, expected_sha256)
    finger = load(image, resolution_dpi=resolution_dpi)
    classical = classical_analysis(finger.pixels)
    learned = student.detect(network, finger, classical, DETECTION_THRESHOLD, match_period=True)
    fused = union(learned, classical.minutiae)
    return dataclasses.replace(classical, minutiae=fused), classical.minutiae


def extract(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    model: Path = student.MODEL,
    expected_sha256: str = student.MODEL_SHA256,
) -> MinutiaSet:
    """Fused minutiae of a fingerprint image, at 500 dpi (errors as `analyse`)."""
    analysis, _ = analyse(
        image, resolution_dpi=resolution_dpi, model=model, expected_sha256=expected_sha256
    )
    return analysis.minutiae
