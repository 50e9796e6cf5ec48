"""Decode and validate eye images: bytes or arrays in, an 8-bit grayscale array out."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.iris.params import IrisParams
from matcher.iris.types import IrisImageError

ImageInput = bytes | bytearray | memoryview | NDArray[np.generic]


def decode_eye_image(data: ImageInput, params: IrisParams | None = None) -> NDArray[np.uint8]:
    """Return the image as 2-D uint8; JPEG/PNG/BMP/TIFF bytes or a numpy array are accepted.

    Colour input is converted to gray because NIR iris cameras store the same value in each
    channel; nothing else is guessed, so a wrong input fails loudly here with a reason.
    """
    p = params or IrisParams()
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if not raw:
            raise IrisImageError("the eye image is empty", code="iris_empty_image")
        decoded = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if decoded is None:
            raise IrisImageError(
                "the data is not a readable image (JPEG, PNG, BMP or TIFF expected)",
                code="iris_not_an_image",
            )
        img: NDArray[np.generic] = decoded
    elif isinstance(data, np.ndarray):
        img = data
    else:
        raise IrisImageError(
            f"an eye image must be bytes or a numpy array, not {type(data).__name__}",
            code="iris_not_an_image",
        )
    if img.ndim == 3 and img.shape[2] in (3, 4):
        img = cv2.cvtColor(
            np.ascontiguousarray(img),
            cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY,
        )
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim != 2:
        raise IrisImageError(
            f"an eye image must be grayscale or 3-channel, got shape {img.shape}",
            code="iris_not_an_image",
        )
    if img.dtype == np.uint16:
        img = (np.asarray(img, dtype=np.uint16) >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise IrisImageError(
            f"an eye image must have 8-bit samples, got {img.dtype}", code="iris_not_an_image"
        )
    h, w = img.shape
    if min(h, w) < p.min_side:
        raise IrisImageError(
            f"the image is {w}×{h} px; at least {p.min_side} px a side is needed for an iris",
            code="iris_image_too_small",
        )
    if max(h, w) > p.max_side:
        raise IrisImageError(
            f"the image is {w}×{h} px; at most {p.max_side} px a side is accepted",
            code="iris_image_too_large",
        )
    if int(img.max()) - int(img.min()) < 20:
        raise IrisImageError(
            "the image is blank (no contrast): no eye can be in it", code="iris_blank_image"
        )
    return np.ascontiguousarray(img, dtype=np.uint8)
