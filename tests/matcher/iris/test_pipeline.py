"""End to end on synthetic eye images: segmentation accuracy, genuine vs impostor, rotation."""

from __future__ import annotations

import pytest

from matcher.iris.compare import compare
from matcher.iris.pipeline import extract_iris
from matcher.iris.types import ANGLES, IrisTemplate
from matcher.synthetic.iris import EyeCapture, encode_png, mean_boundary_error, render_eye


def test_segmentation_finds_true_circles(
    eye_captures: dict[tuple[int, int], EyeCapture],
    eye_templates: dict[tuple[int, int], IrisTemplate],
) -> None:
    for key, cap in eye_captures.items():
        seg = eye_templates[key].segmentation
        assert seg is not None
        for found, (x, y, r) in ((seg.pupil, cap.pupil), (seg.limbus, cap.limbus)):
            # The limbus is fitted on lateral arcs, which pin its height least: its centre may
            # sit a few pixels off while the boundary itself stays close all round.
            assert abs(found.x - x) < 3 and abs(found.y - y) < 3.5, key
            assert abs(found.r - r) < 0.04 * r + 1.5, key
            assert mean_boundary_error((x, y, r), (found.x, found.y, found.r)) < 2.5, key


def test_same_eye_matches_with_the_rotation_as_shift(
    eye_captures: dict[tuple[int, int], EyeCapture],
    eye_templates: dict[tuple[int, int], IrisTemplate],
) -> None:
    for eye in (1, 2, 3):
        a, b = eye_templates[(eye, 0)], eye_templates[(eye, 1)]
        result = compare(a.iris_code, b.iris_code)
        assert result.raw_distance < 0.25, eye
        # Shifting a by `shift` positions aligns it with b: the rotation difference in steps
        # (texture angle grows with y down, so a counter-clockwise turn is a negative shift).
        rot = eye_captures[(eye, 1)].rotation_deg - eye_captures[(eye, 0)].rotation_deg
        expected = rot / (360.0 / ANGLES)
        assert abs(result.shift - expected) <= 1.0, (eye, result.shift, expected)


def test_different_eyes_are_near_half(eye_templates: dict[tuple[int, int], IrisTemplate]) -> None:
    for a, b in [((1, 0), (2, 0)), ((2, 1), (3, 0)), ((1, 1), (3, 1))]:
        result = compare(eye_templates[a].iris_code, eye_templates[b].iris_code)
        assert 0.38 < result.raw_distance < 0.6, (a, b, result)


def test_png_bytes_and_larger_frames_work() -> None:
    cap = render_eye(4, 0)
    from_bytes = extract_iris(encode_png(cap.image))
    from_array = extract_iris(cap.image)
    assert compare(from_bytes.iris_code, from_array.iris_code).raw_distance == pytest.approx(0.0)
    from matcher.synthetic.iris import CaptureSettings

    big = render_eye(4, 2, CaptureSettings(width=640, height=480))
    assert compare(extract_iris(big.image).iris_code, from_array.iris_code).raw_distance < 0.3


def test_quality_reports_reasons_for_occlusion() -> None:
    from matcher.synthetic.iris import CaptureSettings

    open_eye = extract_iris(render_eye(6, 0).image)
    occluded = extract_iris(
        render_eye(6, 0, CaptureSettings(upper_lid=(0.4, 0.45), lashes=120)).image
    )
    assert occluded.quality.usable_fraction < open_eye.quality.usable_fraction
    assert occluded.quality.score < open_eye.quality.score
    assert any("occluded" in r for r in occluded.quality.reasons)


def test_quality_reports_blur() -> None:
    from matcher.synthetic.iris import CaptureSettings

    sharp = extract_iris(render_eye(6, 0).image)
    blurred = extract_iris(render_eye(6, 0, CaptureSettings(blur_sigma=(2.5, 2.6))).image)
    assert blurred.quality.sharpness < sharp.quality.sharpness
    assert any("focus" in r for r in blurred.quality.reasons)
    assert not any("focus" in r for r in sharp.quality.reasons)
