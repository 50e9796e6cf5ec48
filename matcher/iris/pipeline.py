"""The iris pipeline end to end: image bytes or array → `IrisTemplate` (code, mask, quality)."""

from __future__ import annotations

from matcher.iris.encode import encode, usable_fraction
from matcher.iris.image import ImageInput, decode_eye_image
from matcher.iris.normalize import normalize
from matcher.iris.params import IrisParams
from matcher.iris.quality import assess
from matcher.iris.segment import segment
from matcher.iris.types import IrisSegmentationError, IrisTemplate

DEFAULT_PARAMS = IrisParams()


def extract_iris(data: ImageInput, params: IrisParams = DEFAULT_PARAMS) -> IrisTemplate:
    """Segment, normalise and encode one eye image.

    Raises `IrisImageError` for input that is not a usable image and `IrisSegmentationError`
    (code `iris_no_eye`, `iris_no_limbus`, `iris_too_small` or `iris_eye_closed`) when no
    encodable iris is in it; otherwise returns the code with its quality and reasons.
    """
    img = decode_eye_image(data, params)
    seg, prep = segment(img, params)
    norm = normalize(prep.filled, seg, params)
    code = encode(norm, params)
    usable = usable_fraction(code, params)
    if usable < params.min_usable_fraction:
        raise IrisSegmentationError(
            f"only {usable:.0%} of the iris is visible: the eye is mostly closed or covered",
            code="iris_eye_closed",
        )
    quality = assess(prep.filled, seg, usable)
    return IrisTemplate(iris_code=code, quality=quality, segmentation=seg)
