"""The learned minutiae detector: model integrity, bad input, agreement with ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.fingerprint import learned
from matcher.fingerprint.image import EmptyImageError, ImageSizeError


def test_a_model_file_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not the network")
    with pytest.raises(learned.ModelIntegrityError, match="SHA-256") as info:
        learned.verified_bytes(model)
    assert info.value.code == "fingerprint_model_corrupt"


def _installed_model() -> Path:
    pytest.importorskip("onnxruntime")
    try:
        return learned.model_path()
    except learned.ModelError as exc:
        pytest.skip(str(exc))


def test_the_installed_model_is_the_measured_one() -> None:
    assert len(learned.verified_bytes(_installed_model())) > 1_000_000


def test_a_damaged_copy_of_the_model_is_refused_before_it_runs(tmp_path: Path) -> None:
    damaged = tmp_path / "LEADER.onnx"
    data = bytearray(_installed_model().read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    pixels = np.full((300, 300), 128, np.uint8)
    pixels[::9] = 40
    with pytest.raises(learned.ModelIntegrityError):
        learned.extract(pixels, model=damaged)


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((300, 300), np.uint8), EmptyImageError),
        (np.zeros((40, 300), np.uint8), ImageSizeError),
    ],
)
def test_bad_input_raises_the_typed_image_errors(image: np.ndarray, error: type) -> None:
    _installed_model()
    with pytest.raises(error):
        learned.extract(image)
