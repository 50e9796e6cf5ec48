"""Score → FMR calibration: learned thresholds hit their target on fresh impostor scores."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcher.fingerprint.calibration import (
    Calibration,
    CalibrationError,
    default_calibration,
    fit,
)


@pytest.fixture(scope="module")
def impostors() -> np.ndarray:
    return np.random.default_rng(1).beta(2, 40, 200_000)


def test_threshold_meets_the_target_fmr_on_new_scores(impostors: np.ndarray) -> None:
    cal = fit(impostors, source="beta")
    fresh = np.random.default_rng(2).beta(2, 40, 400_000)
    for target in (1e-2, 1e-3, 1e-4):
        observed = float((fresh >= cal.threshold(target)).mean())
        assert target / 3 <= observed <= target * 3


def test_fmr_and_threshold_are_inverse_and_monotone(impostors: np.ndarray) -> None:
    cal = fit(impostors, source="beta")
    for target in (0.3, 1e-2, 1e-4, 1e-7):
        assert cal.fmr(cal.threshold(target)) == pytest.approx(target, rel=0.05)
    scores = np.linspace(0, 1, 200)
    fmrs = [cal.fmr(s) for s in scores]
    assert all(a >= b for a, b in itertools.pairwise(fmrs))
    assert cal.fmr(float("-inf")) == 1.0


def test_decision_reports_score_fmr_and_threshold(impostors: np.ndarray) -> None:
    cal = fit(impostors, source="beta")
    strong = cal.decide(0.5, 1e-4)
    weak = cal.decide(0.01, 1e-4)
    assert strong.match and not weak.match
    assert strong.fmr < 1e-4 < weak.fmr
    assert strong.as_dict()["decision"] == "match"
    assert strong.threshold == weak.threshold == pytest.approx(cal.threshold(1e-4))


def test_json_round_trip_and_errors(impostors: np.ndarray) -> None:
    cal = fit(impostors, source="beta")
    again = Calibration.from_json(cal.to_json())
    assert again == cal
    with pytest.raises(CalibrationError):
        Calibration.from_json("{}")
    with pytest.raises(CalibrationError):
        fit(impostors[:20], source="too few")
    with pytest.raises(CalibrationError):
        cal.threshold(0.0)


def test_shipped_default_calibration_loads() -> None:
    cal = default_calibration()
    assert cal.impostors > 10_000
    assert cal.threshold(1e-4) > cal.threshold(1e-2)
