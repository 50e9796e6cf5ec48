"""Bad input is refused with a typed error and a reason, never a crash or a bogus code."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisImageError, IrisSegmentationError
from matcher.synthetic.iris import CaptureSettings, encode_png, render_eye


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "iris_empty_image"),
        (b"this is not an image at all", "iris_not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "iris_not_an_image"),
        (np.zeros((280, 320), np.float64), "iris_not_an_image"),
        (np.full((280, 320), 128, np.uint8), "iris_blank_image"),
        (np.zeros((100, 120), np.uint8), "iris_image_too_small"),
        (np.zeros((2500, 300), np.uint8), "iris_image_too_large"),
    ],
)
def test_unusable_images_are_refused(data: object, code: str) -> None:
    with pytest.raises(IrisImageError) as err:
        extract_iris(data)  # type: ignore[arg-type]
    assert err.value.code == code
    assert err.value.message


def test_a_picture_without_an_eye_is_refused() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (280, 320)).astype(np.uint8)
    gradient = np.tile(np.linspace(50, 200, 320).astype(np.uint8), (280, 1))
    for img in (noise, gradient):
        with pytest.raises(IrisSegmentationError) as err:
            extract_iris(img)
        assert err.value.code in {"iris_no_eye", "iris_no_limbus"}


def test_an_iris_too_small_is_refused() -> None:
    cap = render_eye(7, 0)
    # The same eye seen from three times as far: a 320-px-wide frame holding a tiny eye.
    small = cv2.resize(cap.image, (107, 93), interpolation=cv2.INTER_AREA)
    frame = np.full((280, 320), int(np.median(cap.image)), np.uint8)
    frame[90:183, 100:207] = small
    with pytest.raises(IrisSegmentationError) as err:
        extract_iris(encode_png(frame))
    assert err.value.code in {"iris_too_small", "iris_no_eye"}


@pytest.mark.parametrize("seed", [2, 3])
def test_a_mostly_closed_eye_is_refused(seed: int) -> None:
    settings = CaptureSettings(upper_lid=(0.0, 0.05), lower_lid=(0.5, 0.55))
    cap = render_eye(5 + seed, seed, settings)
    with pytest.raises(IrisSegmentationError) as err:
        extract_iris(cap.image)
    assert err.value.code == "iris_eye_closed"
