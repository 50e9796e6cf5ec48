"""Every learned extractor against the synthetic generator's ground truth."""

from __future__ import annotations

import pytest

from matcher.fingerprint import extractors, learned


@pytest.mark.slow
@pytest.mark.parametrize("name", ["leader", "student", "fused"])
def test_minutiae_agree_with_synthetic_ground_truth(name: str) -> None:
    pytest.importorskip("onnxruntime")
    if name == "leader":
        try:
            learned.model_path()
        except learned.ModelError as exc:
            pytest.skip(str(exc))
    from benchmarks.extract import agreement
    from matcher.synthetic.render import impressions_with_truth

    extract = extractors.named(name)
    matched = truths = found = 0
    for pixels, truth in impressions_with_truth(4, per_finger=2, seed=7):
        m = extract(pixels)
        assert m.extractor.startswith(name)
        got = agreement((truth.x, truth.y, truth.direction), (m.x, m.y, m.direction))
        matched, truths, found = matched + got[0], truths + got[1], found + got[2]
    assert matched / truths >= 0.85
    assert matched / found >= 0.85
