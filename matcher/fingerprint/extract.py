"""Fingerprint image → minutiae: the extraction pipeline and the capture quality check.

    from matcher.fingerprint.extract import extract, assess
    minutiae = extract(Path("101_1.tif").read_bytes())           # MinutiaSet at 500 dpi
    minutiae = extract(pixels, resolution_dpi=569)               # numpy array, rescaled
    report = assess(png_bytes); report.score, report.reasons     # 0–100 and what to fix

Stages (each a pure function in its own module): decode and rescale (`image`), normalise and
orientation field (`orientation`), foreground mask (`segment`), ridge period (`frequency`),
Gabor enhancement (`enhance`), binarisation and thinning (`skeleton`), minutiae with false
ones removed (`minutiae`, `trace`), qualities (`quality`).

Direction convention (see `matcher.fingerprint.minutiae`): an ending points from its tip
into its ridge; a bifurcation points from the fork between its two branches, away from the
stem. Angles are ISO/IEC 19794-2 (counter-clockwise on screen from +x).

`MinutiaSet.extras` carries what the comparison stage needs about the valid area:
`"mask"` (uint8 block grid, 1 = finger), `"mask_block"` (block size in px at 500 dpi) and
`"ridge_period"` (px at 500 dpi).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint import enhance as enhance_stage
from matcher.fingerprint import frequency, orientation, segment, skeleton
from matcher.fingerprint.image import (
    EmptyImageError,
    FingerImage,
    FingerprintImageError,
    ImageDecodeError,
    ImageFormatError,
    ImageSizeError,
    ResolutionError,
    from_raw,
    load,
)
from matcher.fingerprint.minutiae import detect
from matcher.fingerprint.params import DEFAULT, ExtractionParams
from matcher.fingerprint.quality import (
    QualityAssessment,
    QualityReason,
    assess_features,
    minutia_quality,
    ridge_reliability,
)
from matcher.fingerprint.types import NOMINAL_DPI, MinutiaSet

__all__ = [
    "DEFAULT",
    "EXTRACTOR",
    "EmptyImageError",
    "Extraction",
    "ExtractionParams",
    "FingerprintImageError",
    "ImageDecodeError",
    "ImageFormatError",
    "ImageSizeError",
    "QualityAssessment",
    "QualityReason",
    "ResolutionError",
    "analyse",
    "assess",
    "extract",
    "from_raw",
]

ImageInput = bytes | NDArray[np.generic]

# Name and version of this extractor, stored with every template it makes: the version
# changes whenever a stage or a default changes which minutiae come out, so templates of an
# older extractor can be told apart (and re-extracted) while they keep matching.
EXTRACTOR = "satupintu-gabor/1"


@dataclass(frozen=True)
class Extraction:
    """Everything one run of the pipeline produced: the template, its quality, the stages.

    `mask`, `enhanced` and `skeleton` are at 500 dpi and exist for diagnostics and tests.
    """

    minutiae: MinutiaSet
    quality: QualityAssessment
    mask: NDArray[np.bool_]
    enhanced: NDArray[np.float32]
    skeleton: NDArray[np.uint8]


def _run(image: FingerImage, params: ExtractionParams) -> Extraction:
    pixels = image.pixels
    shape = (image.height, image.width)
    normalised, contrast = orientation.normalise(pixels, params.block)
    field = orientation.estimate(normalised, contrast, params)
    blocks = segment.block_mask(field, params)
    mask = segment.pixel_mask(blocks, params.block, shape)
    local = len(params.gabor_period_levels) > 1
    period = frequency.estimate(normalised, blocks, field.theta, params, local=local)
    enhanced = enhance_stage.enhance(
        normalised, field, period.period, mask, params, local_period=period.block_periods
    )
    binary = skeleton.binarise(enhanced, mask)
    skel = skeleton.thin(binary)
    crossing = skeleton.crossing_number(skel)
    distance = segment.border_distance(mask)
    theta = (
        orientation.upsample(field.cos2, params.block, shape),
        orientation.upsample(field.sin2, params.block, shape),
    )
    theta_pixels = np.mod(0.5 * np.arctan2(theta[1], theta[0]), np.pi).astype(np.float32)
    raw = detect(skel, crossing, theta_pixels, distance, params)
    b = params.block
    reliability = ridge_reliability(enhanced, normalised, b)
    quality = minutia_quality(reliability[raw.y // b, raw.x // b], distance[raw.y, raw.x])
    keep = quality >= params.min_minutia_quality
    order = np.argsort(-quality[keep], kind="stable")[: params.max_minutiae]
    sel = np.flatnonzero(keep)[order]
    assessment = _assess(pixels, field, blocks, mask, period, len(sel))
    minutiae = MinutiaSet.from_arrays(
        raw.x[sel].astype(np.float32),
        raw.y[sel].astype(np.float32),
        raw.angle[sel],
        raw.kind[sel],
        quality[sel],
        width=image.width,
        height=image.height,
        resolution_dpi=NOMINAL_DPI,
        image_quality=assessment.score,
        extractor=EXTRACTOR if params == DEFAULT else f"{EXTRACTOR}+custom",
    )
    minutiae.extras.update(
        mask=blocks.astype(np.uint8), mask_block=b, ridge_period=float(period.period)
    )
    return Extraction(minutiae, assessment, mask, enhanced, skel)


def _dark_share(pixels: NDArray[np.uint8], mask: NDArray[np.bool_]) -> float:
    """Share of the finger at the image's darkest grey levels (bottom tenth of its range).

    Wet or over-pressed skin floods the valleys, so much of the finger sits at the darkest
    level; measured relative to the image's own range so sensor exposure does not matter.
    """
    lo, hi = np.percentile(pixels, [1, 99])
    return float((pixels[mask] <= lo + 0.1 * (hi - lo)).mean())


def _assess(
    pixels: NDArray[np.uint8],
    field: orientation.OrientationField,
    blocks: NDArray[np.bool_],
    mask: NDArray[np.bool_],
    period: frequency.RidgePeriod,
    minutiae: int,
) -> QualityAssessment:
    fg = int(mask.sum())
    if fg == 0:
        return assess_features(
            foreground_px=0, coherence=0.0, clarity=0.0, contrast=0.0, dark_share=0.0, minutiae=0
        )
    return assess_features(
        foreground_px=fg,
        coherence=float(field.coherence[blocks].mean()),
        clarity=float(np.median(period.clarity)) if len(period.clarity) else 0.0,
        contrast=float(np.median(field.contrast[blocks])),
        dark_share=_dark_share(pixels, mask),
        minutiae=minutiae,
    )


def analyse(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    params: ExtractionParams = DEFAULT,
) -> Extraction:
    """Run the whole pipeline and keep the intermediate images (for diagnostics)."""
    return _run(load(image, resolution_dpi=resolution_dpi), params)


def extract(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    params: ExtractionParams = DEFAULT,
) -> MinutiaSet:
    """Minutiae of a fingerprint image (encoded bytes, or a 2-D uint8 array of pixels).

    `resolution_dpi` is the capture resolution (None = 500 dpi); the result is always at
    500 dpi. Raises a `FingerprintImageError` subclass for input that is not a usable image.
    """
    return analyse(image, resolution_dpi=resolution_dpi, params=params).minutiae


def assess(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    params: ExtractionParams = DEFAULT,
) -> QualityAssessment:
    """Quality score 0–100 of a capture and the reasons it is low, for operator feedback."""
    return analyse(image, resolution_dpi=resolution_dpi, params=params).quality
