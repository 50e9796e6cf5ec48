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
