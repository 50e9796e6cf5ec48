"""The student minutiae network: model integrity, decoding, bad input, ground truth."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from matcher.fingerprint import extractors, learned, student
from matcher.fingerprint.image import EmptyImageError, ImageSizeError

pytest.importorskip("onnxruntime")


def _ridges() -> np.ndarray:
    pixels = np.full((300, 300), 128, np.uint8)
    pixels[::9] = 40
    return pixels


def test_the_shipped_model_is_the_measured_one() -> None:
    assert len(learned.verified_bytes(student.MODEL, student.MODEL_SHA256)) > 10_000


def test_a_damaged_copy_of_the_model_is_refused_before_it_runs(tmp_path: Path) -> None:
    damaged = tmp_path / "student.onnx"
    data = bytearray(student.MODEL.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(learned.ModelIntegrityError, match="SHA-256") as info:
        student.extract(_ridges(), model=damaged)
    assert info.value.code == "fingerprint_model_corrupt"


def test_a_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(learned.ModelError, match="missing"):
        student.extract(_ridges(), model=tmp_path / "absent.onnx")


def test_decoding_finds_each_peak_once_with_its_direction_and_type() -> None:
    maps = np.full((4, 40, 50), -6.0, np.float32)
    for (cx, cy), angle, ending in (((10, 5), 0.5, 1.0), ((30, 20), 2.5, -1.0)):
        maps[0, cy - 1 : cy + 2, cx - 1 : cx + 2] = 1.0
        maps[0, cy, cx] = 3.0
        maps[1, cy, cx], maps[2, cy, cx] = math.cos(angle), math.sin(angle)
        maps[3, cy, cx] = ending
    found = student.decode(maps, threshold=0.5)
    assert list(zip(found.x.tolist(), found.y.tolist(), strict=True)) == [
        (20.5, 10.5),
        (60.5, 40.5),
    ]
    assert np.allclose(found.angle, [0.5, 2.5], atol=1e-5)
    assert found.ending.tolist() == [True, False]
    assert np.all(found.score > 0.9)
    assert len(student.decode(maps, threshold=0.99).x) == 0


def test_an_unknown_extractor_name_is_refused() -> None:
    with pytest.raises(extractors.UnknownExtractor):
        extractors.named("sourceafis")
    assert extractors.named("student") is student.extract


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((300, 300), np.uint8), EmptyImageError),
        (np.zeros((40, 300), np.uint8), ImageSizeError),
    ],
)
def test_bad_input_raises_the_typed_image_errors(image: np.ndarray, error: type) -> None:
    with pytest.raises(error):
        student.extract(image)


def test_only_fingers_with_wider_ridges_than_the_training_images_are_shrunk() -> None:
    assert student.period_scale(student.TRAINED_RIDGE_PERIOD) == 1.0
    assert student.period_scale(6.0) == 1.0  # narrower ridges are never enlarged
    assert student.period_scale(12.0) == pytest.approx(student.TRAINED_RIDGE_PERIOD / 12.0)
    assert student.period_scale(40.0) == student.MIN_SCALE


def test_matching_the_ridge_period_finds_more_minutiae_of_an_enlarged_finger_in_place() -> None:
    import cv2

    from benchmarks.extract import agreement
    from matcher.fingerprint.extract import analyse
    from matcher.fingerprint.image import load
    from matcher.synthetic.render import impressions_with_truth

    network = student.checked_session()
    found = {False: 0, True: 0}
    truths = 0
    for pixels, truth in impressions_with_truth(3, seed=7):
        # 1.4 times larger: ridges about 14 px apart instead of the trained 9
        finger = load(cv2.resize(pixels, None, fx=1.4, fy=1.4, interpolation=cv2.INTER_CUBIC))
        classical = analyse(finger.pixels)
        scaled_truth = (truth.x * 1.4, truth.y * 1.4, truth.direction)
        truths += len(truth.x)
        for match in found:
            ms = student.detect(network, finger, classical, match_period=match)
            found[match] += agreement(scaled_truth, (ms.x, ms.y, ms.direction))[0]
    assert found[True] / truths >= 0.9
    assert found[True] > found[False]
