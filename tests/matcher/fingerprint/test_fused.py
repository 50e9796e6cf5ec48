"""The default fused extractor: joining rule, records, quality, model integrity, calibration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from matcher.fingerprint import extractors, fused, iso19794_2, student
from matcher.fingerprint.calibration import calibration_for, default_calibration
from matcher.fingerprint.extract import analyse as classical_analysis
from matcher.fingerprint.image import EmptyImageError
from matcher.fingerprint.types import MinutiaSet

pytest.importorskip("onnxruntime")


def _set(points: list[tuple[float, float, float]], quality: int) -> MinutiaSet:
    xs, ys, directions = zip(*points, strict=True) if points else ((), (), ())
    ms = MinutiaSet.from_arrays(
        np.array(xs, np.float32),
        np.array(ys, np.float32),
        np.array(directions, np.float32),
        np.ones(len(points), np.uint8),
        np.full(len(points), quality, np.uint8),
        width=300,
        height=300,
        image_quality=70,
        extractor="x",
    )
    ms.extras.update(mask=np.ones((25, 25), np.uint8), mask_block=12, ridge_period=9.0)
    return ms


def test_a_classical_minutia_already_found_by_the_network_is_not_added_twice() -> None:
    learned = _set([(100, 100, 0.5), (200, 50, 2.0)], quality=90)
    classical = _set(
        [
            (104, 103, 0.6),  # 5 px and 6° from the first: the same minutia
            (100, 100, 0.5 + math.pi),  # same place, opposite direction: another minutia
            (100, 100 + fused.SAME_DISTANCE + 2, 0.5),  # same direction, too far: another
            (250, 250, 1.0),  # nowhere near: another
        ],
        quality=40,
    )
    joined = fused.union(learned, classical)
    assert len(joined) == 5
    assert joined.x[:2].tolist() == [100, 200]  # the network's own minutiae come first, as found
    assert sorted(zip(joined.x[2:].tolist(), joined.y[2:].tolist(), strict=True)) == [
        (100.0, 100.0),
        (100.0, 100.0 + fused.SAME_DISTANCE + 2),
        (250.0, 250.0),
    ]
    assert joined.quality.tolist() == [90, 90, 40, 40, 40]
    assert joined.extractor == fused.EXTRACTOR
    assert joined.extras["ridge_period"] == 9.0


def test_either_side_may_be_empty() -> None:
    some = _set([(100, 100, 0.5)], quality=50)
    assert len(fused.union(_set([], 50), some)) == 1
    assert len(fused.union(some, _set([], 50))) == 1


@pytest.fixture(scope="module")
def rendered() -> np.ndarray:
    from matcher.synthetic.render import impressions_with_truth

    pixels, _ = next(iter(impressions_with_truth(1, seed=11)))
    return pixels


def test_the_default_extractor_keeps_the_classical_quality_and_holds_both_sets(
    rendered: np.ndarray,
) -> None:
    assert extractors.DEFAULT == "fused"
    result, _ = fused.analyse(rendered)
    classical = classical_analysis(rendered)
    assert result.quality == classical.quality
    ms = result.minutiae
    assert ms.image_quality == classical.quality.score
    assert ms.extractor == fused.EXTRACTOR
    assert len(ms) > len(classical.minutiae)
    # every classical minutia is in the union or has a network minutia beside it
    near = np.hypot(ms.x[:, None] - classical.minutiae.x, ms.y[:, None] - classical.minutiae.y)
    assert (near.min(axis=0) <= fused.SAME_DISTANCE).all()


def test_the_enrolment_record_carries_the_fused_minutiae_and_qualities(
    rendered: np.ndarray,
) -> None:
    ms = fused.extract(rendered)
    (back,) = iso19794_2.read(iso19794_2.write([ms]))
    assert len(back) == len(ms)
    assert np.allclose(back.x, ms.x, atol=1) and np.allclose(back.y, ms.y, atol=1)
    assert back.quality.tolist() == ms.quality.tolist()


def test_a_damaged_student_model_is_refused_by_the_default_extractor(
    tmp_path: Path, rendered: np.ndarray
) -> None:
    from matcher.fingerprint import learned

    damaged = tmp_path / "student.onnx"
    data = bytearray(student.MODEL.read_bytes())
    data[len(data) // 3] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(learned.ModelIntegrityError, match="SHA-256"):
        fused.extract(rendered, model=damaged)


def test_bad_input_raises_the_typed_image_errors() -> None:
    with pytest.raises(EmptyImageError):
        fused.extract(np.zeros((300, 300), np.uint8))


def test_single_extractor_templates_keep_their_own_calibration() -> None:
    single = calibration_for("gabor")
    assert calibration_for("satupintu-gabor/1") == single
    assert calibration_for("student-onnx/1") == single
    assert calibration_for(fused.EXTRACTOR) == default_calibration()
    assert calibration_for("") == default_calibration()
    # the fused templates' impostors score higher, so their threshold is higher
    assert default_calibration().threshold(1e-3) > single.threshold(1e-3)
