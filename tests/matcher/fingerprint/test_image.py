"""Bad input never crashes extraction: every case raises a typed, coded error."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matcher.fingerprint.extract import extract
from matcher.fingerprint.image import (
    EmptyImageError,
    FingerprintImageError,
    ImageDecodeError,
    ImageFormatError,
    ImageSizeError,
    ResolutionError,
    from_raw,
    load,
)


def _encode(pixels: np.ndarray, ext: str = ".png") -> bytes:
    ok, buf = cv2.imencode(ext, pixels)
    assert ok
    return buf.tobytes()


def _texture(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w), dtype=np.uint8)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyImageError),
        (b"not an image at all, just text", ImageDecodeError),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, ImageDecodeError),
        (_encode(_texture(300, 300))[:60], ImageDecodeError),
        (_encode(_texture(100, 300)), ImageSizeError),
        (_encode(_texture(149, 149), ".bmp"), ImageSizeError),
        (_encode(np.full((300, 300), 200, np.uint8)), EmptyImageError),
    ],
    ids=["empty", "text", "png-header-only", "truncated", "tiny", "tiny-bmp", "blank"],
)
def test_bad_bytes_raise_typed_errors(data: bytes, error: type[FingerprintImageError]) -> None:
    with pytest.raises(error) as info:
        extract(data)
    assert isinstance(info.value, ValueError)
    assert info.value.code and str(info.value)


def test_huge_images_are_refused() -> None:
    with pytest.raises(ImageSizeError, match="2000"):
        extract(np.zeros((200, 2100), np.uint8))


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((300, 300), np.float32),
        np.zeros((300, 300, 2), np.uint8),
        np.zeros((2, 300, 300, 1), np.uint8),
    ],
    ids=["float", "two-channels", "4-d"],
)
def test_wrong_pixel_arrays_are_refused(pixels: np.ndarray) -> None:
    with pytest.raises(ImageFormatError):
        extract(pixels)


def test_non_image_objects_are_refused() -> None:
    with pytest.raises(ImageFormatError):
        extract("101_1.tif")  # type: ignore[arg-type]
    with pytest.raises(EmptyImageError):
        extract(np.zeros((0, 0), np.uint8))


def test_impossible_resolution_is_refused() -> None:
    with pytest.raises(ResolutionError):
        extract(_texture(300, 300), resolution_dpi=72)


def test_raw_pixels_with_width_and_height() -> None:
    pixels = _texture(200, 260)
    array = from_raw(pixels.tobytes(), width=260, height=200)
    assert np.array_equal(array, pixels)
    with pytest.raises(ImageFormatError, match="52000"):
        from_raw(pixels.tobytes()[:-1], width=260, height=200)
    with pytest.raises(ImageSizeError):
        from_raw(b"", width=0, height=10)


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".jpg", ".pgm"])
def test_supported_formats_decode_to_grayscale(ext: str) -> None:
    pixels = _texture(200, 240)
    image = load(_encode(pixels, ext))
    assert image.pixels.shape == (200, 240) and image.pixels.dtype == np.uint8
    if ext != ".jpg":
        assert np.array_equal(image.pixels, pixels)


def test_colour_input_is_converted_and_569_dpi_is_rescaled() -> None:
    colour = cv2.cvtColor(_texture(569, 569), cv2.COLOR_GRAY2BGR)
    image = load(_encode(colour), resolution_dpi=569)
    assert image.pixels.shape == (500, 500)
    assert image.source_dpi == 569
