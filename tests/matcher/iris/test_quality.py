"""Quality reasons on synthetic eyes: each failure cause gives its own reason, a good eye none."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matcher.iris.pipeline import extract_iris
from matcher.synthetic.iris import CaptureSettings, render_eye

EYES = (21, 22, 23)


@pytest.mark.parametrize("eye", EYES)
def test_a_good_eye_has_no_reasons(eye: int) -> None:
    settings = CaptureSettings(
        upper_lid=(0.9, 1.0), lower_lid=(1.0, 1.1), lashes=20, blur_sigma=(0.3, 0.4)
    )
    quality = extract_iris(render_eye(eye, 0, settings).image).quality
    assert quality.reason_codes == ()
    assert quality.reasons == ()
    assert quality.score >= 70


@pytest.mark.parametrize("eye", EYES)
def test_an_eye_looking_away_is_reported_off_angle(eye: int) -> None:
    frontal = extract_iris(render_eye(eye, 0).image).quality
    away = extract_iris(render_eye(eye, 0, CaptureSettings(off_angle_deg=35.0)).image).quality
    assert frontal.pupil_ellipticity < 0.1
    assert away.pupil_ellipticity > 0.15
    assert "iris_off_angle" in away.reason_codes
    assert "iris_off_angle" not in frontal.reason_codes
    assert any("look straight" in r for r in away.reasons)


@pytest.mark.parametrize("eye", (22, 23, 26))
def test_a_dilated_pupil_is_reported(eye: int) -> None:
    quality = extract_iris(render_eye(eye, 0, CaptureSettings(dilation=(0.73, 0.74))).image).quality
    assert quality.dilation > 0.65
    assert "iris_dilation" in quality.reason_codes
    assert any("brighter" in r for r in quality.reasons)


@pytest.mark.parametrize("eye", EYES)
def test_a_small_iris_is_reported_as_too_little_area(eye: int) -> None:
    cap = render_eye(eye, 0)
    near = extract_iris(cap.image).quality
    # The same eye at half the size in the same frame (held twice as far from the camera).
    small = cv2.resize(cap.image, (160, 140), interpolation=cv2.INTER_AREA)
    frame = np.full_like(cap.image, int(np.median(cap.image)))
    frame[70:210, 80:240] = small
    far = extract_iris(frame).quality
    assert far.usable_area < near.usable_area / 3
    assert "iris_area" in far.reason_codes
    assert "iris_area" not in near.reason_codes
    assert any("closer" in r for r in far.reasons)


def test_reasons_and_codes_line_up() -> None:
    settings = CaptureSettings(blur_sigma=(3.0, 3.2), dilation=(0.7, 0.72))
    quality = extract_iris(render_eye(24, 0, settings).image).quality
    assert len(quality.reasons) == len(quality.reason_codes) >= 2
    assert {"iris_blur", "iris_dilation"} <= set(quality.reason_codes)
