"""Decoding and validating fingerprint images, and bringing them to the nominal 500 dpi.

Everything that reaches the pipeline is a C-contiguous 8-bit grayscale array at 500 dpi;
anything else is refused here with a typed error an API can map to a 4xx, because a capture
device sending garbage must never crash extraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.types import NOMINAL_DPI

MIN_SIDE = 150
MAX_SIDE = 2000
# Sensors outside this range are not fingerprint scanners (or the resolution is wrong).
MIN_DPI = 250
MAX_DPI = 1200


class FingerprintImageError(ValueError):
    """An input that cannot be read as a fingerprint image; `code` is machine-readable."""

    code: str = "fingerprint_image_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ImageDecodeError(FingerprintImageError):
    """The bytes are not an image in a supported format (PNG, TIFF, BMP, JPEG, PGM)."""

    code = "image_undecodable"


class EmptyImageError(FingerprintImageError):
    """No bytes, no pixels, or a blank (uniform) image with nothing on it."""

    code = "image_empty"


class ImageSizeError(FingerprintImageError):
    """Too small to hold a usable finger area, or too large for any fingerprint sensor."""

    code = "image_size_out_of_range"


class ImageFormatError(FingerprintImageError):
    """Pixels of the wrong type or shape (not 8-bit grayscale, or raw data of the wrong length)."""

    code = "image_format_unsupported"


class ResolutionError(FingerprintImageError):
    """A resolution no fingerprint sensor has; rescaling from it would be meaningless."""

    code = "image_resolution_invalid"


@dataclass(frozen=True)
class FingerImage:
    """A validated grayscale image at 500 dpi plus the resolution it was captured at."""

    pixels: NDArray[np.uint8]
    source_dpi: int

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


def from_raw(data: bytes, *, width: int, height: int) -> NDArray[np.uint8]:
    """Wrap raw row-major 8-bit pixels (as sensors deliver them) in an array, checking length."""
    if width <= 0 or height <= 0:
        raise ImageSizeError(f"raw image size {width}×{height} is not positive")
    if len(data) != width * height:
        raise ImageFormatError(
            f"raw image should hold width×height = {width * height} bytes, got {len(data)}"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width)


def decode(data: bytes) -> NDArray[np.uint8]:
    """Decode PNG/TIFF/BMP/JPEG/PGM bytes to grayscale; colour images are converted."""
    if not data:
        raise EmptyImageError("the image is empty (0 bytes)")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        pixels = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    except cv2.error as exc:
        raise ImageDecodeError(f"the image could not be decoded: {exc.msg.strip()}") from exc
    if pixels is None:
        raise ImageDecodeError(
            "the data is not a readable image (supported: PNG, TIFF, BMP, JPEG, PGM)"
        )
    return np.asarray(pixels, dtype=np.uint8)


def _as_gray(array: NDArray[np.generic]) -> NDArray[np.uint8]:
    """Accept 2-D 8-bit arrays, or 3-D with 1/3/4 channels, as delivered by imaging libraries."""
    if array.dtype != np.uint8:
        raise ImageFormatError(f"pixels must be 8-bit (uint8), got {array.dtype}")
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        if array.shape[2] == 1:
            return np.ascontiguousarray(array[:, :, 0])
        code = cv2.COLOR_BGR2GRAY if array.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return np.asarray(cv2.cvtColor(np.ascontiguousarray(array), code), dtype=np.uint8)
    if array.ndim != 2:
        raise ImageFormatError(f"pixels must be a 2-D grayscale array, got shape {array.shape}")
    return np.ascontiguousarray(array)


def load(image: bytes | NDArray[np.generic], *, resolution_dpi: int | None = None) -> FingerImage:
    """Decode or adopt `image`, validate it and rescale it to 500 dpi.

    `resolution_dpi` None means the nominal 500 dpi (FVC, most single-finger sensors). Size
    limits apply to the image as captured, before rescaling.
    """
    if isinstance(image, bytes | bytearray | memoryview):
        pixels = decode(bytes(image))
    elif isinstance(image, np.ndarray):
        if image.size == 0:
            raise EmptyImageError("the pixel array is empty")
        pixels = _as_gray(image)
    else:
        raise ImageFormatError(f"expected image bytes or a numpy array, got {type(image).__name__}")
    dpi = NOMINAL_DPI if resolution_dpi is None else int(resolution_dpi)
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ResolutionError(
            f"resolution {dpi} dpi is outside the {MIN_DPI}–{MAX_DPI} dpi of fingerprint sensors"
        )
    h, w = pixels.shape
    if min(h, w) < MIN_SIDE:
        raise ImageSizeError(
            f"the image is {w}×{h} px; at least {MIN_SIDE} px a side is needed for a finger"
        )
    if max(h, w) > MAX_SIDE:
        raise ImageSizeError(f"the image is {w}×{h} px; at most {MAX_SIDE} px a side is accepted")
    if int(pixels.max()) - int(pixels.min()) < 8:
        raise EmptyImageError("the image is blank: it has no contrast, so no finger is on it")
    if dpi != NOMINAL_DPI:
        scale = NOMINAL_DPI / dpi
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        pixels = np.asarray(cv2.resize(pixels, size, interpolation=interp), dtype=np.uint8)
    return FingerImage(pixels=np.ascontiguousarray(pixels), source_dpi=dpi)
