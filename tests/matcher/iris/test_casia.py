"""Smoke test on a few real CASIA-IrisV1 images (skipped where the datasets are absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.iris.compare import compare
from matcher.iris.pipeline import extract_iris

pytestmark = pytest.mark.shared


def test_real_eyes_match_themselves_and_not_each_other(shared_dir: Path) -> None:
    folder = shared_dir / "datasets" / "casia-irisv1"
    if not folder.is_dir():
        pytest.skip("casia-irisv1 not present")
    a1, a2, b1 = (
        extract_iris((folder / name).read_bytes()).iris_code
        for name in ("001_1_1.jpg", "001_2_1.jpg", "002_1_1.jpg")
    )
    genuine = compare(a1, a2)
    impostor = compare(a1, b1)
    assert genuine.raw_distance < 0.3
    assert impostor.raw_distance > 0.4
    assert genuine.distance < impostor.distance
