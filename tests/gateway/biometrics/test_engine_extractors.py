"""Enrolled templates are compared like with like: an older classical gallery keeps working."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.biometrics.captures import Sample
from gateway.biometrics.engine import BiometricEngine, EnrolledView
from matcher.fingerprint import fused
from matcher.fingerprint.calibration import calibration_for, default_calibration
from matcher.fingerprint.extract import EXTRACTOR as CLASSICAL
from matcher.fingerprint.types import MinutiaSet

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def two_impressions() -> tuple[np.ndarray, np.ndarray]:
    from matcher.synthetic.render import impressions_with_truth

    shots = iter(impressions_with_truth(2, seed=5))
    first, _ = next(shots)
    second, _ = next(shots)
    return first, second


def _enrolled(engine: BiometricEngine, template_id: int, template: MinutiaSet) -> EnrolledView:
    data = engine.to_bytes("finger", template)
    return engine.prepared_enrolled(template_id, "finger", lambda: data)


def test_a_classical_template_meets_the_probes_classical_minutiae_under_its_calibration(
    two_impressions: tuple[np.ndarray, np.ndarray],
) -> None:
    engine = BiometricEngine()
    enrolled_analysis, enrolled_classical = fused.analyse(two_impressions[0])
    probe_analysis, probe_classical = fused.analyse(two_impressions[1])
    sample = Sample("finger", 1, probe_analysis.minutiae, 80, classical=probe_classical)

    old = _enrolled(engine, 1, enrolled_classical)
    assert old.extractor == CLASSICAL
    got = engine.compare_enrolled(sample, old)
    expected = engine.score(
        "finger",
        engine.prepare("finger", probe_classical),
        old.prepared,
    )
    assert got.score == pytest.approx(expected)
    assert got.fmr == pytest.approx(calibration_for(CLASSICAL).fmr(expected))

    new = _enrolled(engine, 2, enrolled_analysis.minutiae)
    assert new.extractor == fused.EXTRACTOR
    got = engine.compare_enrolled(sample, new)
    expected = engine.score("finger", engine.prepare("finger", sample.template), new.prepared)
    assert got.score == pytest.approx(expected)
    assert got.fmr == pytest.approx(default_calibration().fmr(expected))


def test_a_record_sample_without_classical_minutiae_meets_any_template_with_its_own(
    two_impressions: tuple[np.ndarray, np.ndarray],
) -> None:
    engine = BiometricEngine()
    _, enrolled_classical = fused.analyse(two_impressions[0])
    probe_analysis, _ = fused.analyse(two_impressions[1])
    sample = Sample("finger", 1, probe_analysis.minutiae, 80)
    old = _enrolled(engine, 1, enrolled_classical)
    got = engine.compare_enrolled(sample, old)
    expected = engine.score("finger", engine.prepare("finger", sample.template), old.prepared)
    assert got.score == pytest.approx(expected)
