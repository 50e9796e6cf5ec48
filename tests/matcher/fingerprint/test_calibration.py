"""Score → FMR calibration: learned thresholds hit their target on fresh impostor scores."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from matcher.fingerprint.calibration import (
    LOG_ODDS_TAIL,
    SCORE_TAIL,
    Calibration,
    CalibrationError,
    default_calibration,
    fit,
    smallest_factor,
)
from matcher.fingerprint.synthetic_calibration import (
    SYNTHETIC_FMR_FACTOR,
    SYNTHETIC_TAIL_WIDENING,
    fit_impostors,
    fit_synthetic,
    synthetic_impostor_scores,
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


def _odds_tailed(seed: int, n: int) -> np.ndarray:
    """Scores whose log-odds have an exponential upper tail (a heavy tail in the score)."""
    z = -5.0 + np.random.default_rng(seed).exponential(0.6, n)
    return 1.0 / (1.0 + np.exp(-z))


def test_log_odds_tail_holds_where_the_score_tail_understates() -> None:
    train, fresh = _odds_tailed(3, 200_000), _odds_tailed(4, 2_000_000)
    odds = fit(train, source="odds", tail_space=LOG_ODDS_TAIL)
    plain = fit(train, source="odds")
    for target in (1e-3, 1e-4, 1e-5):
        observed = float((fresh >= odds.threshold(target)).mean())
        assert target / 3 <= observed <= target * 3
        again = Calibration.from_json(odds.to_json())
        assert again.threshold(target) == pytest.approx(odds.threshold(target))
    assert float((fresh >= plain.threshold(1e-5)).mean()) > 3e-5


def test_fmr_factor_scales_every_reported_rate(impostors: np.ndarray) -> None:
    plain = fit(impostors, source="beta", tail_space=LOG_ODDS_TAIL)
    margin = fit(impostors, source="beta", tail_space=LOG_ODDS_TAIL, fmr_factor=4.0)
    for score in (0.02, 0.1, 0.3):
        assert margin.fmr(score) == pytest.approx(min(1.0, 4.0 * plain.fmr(score)))
    assert margin.threshold(1e-4) == pytest.approx(plain.threshold(2.5e-5))
    with pytest.raises(CalibrationError):
        fit(impostors, source="beta", fmr_factor=0.5)
    with pytest.raises(CalibrationError):
        fit(impostors, source="beta", tail_space="gumbel")


def test_calibrations_written_before_the_tail_options_still_load(impostors: np.ndarray) -> None:
    raw = json.loads(fit(impostors, source="beta").to_json())
    del raw["tail_space"], raw["fmr_factor"]
    old = Calibration.from_json(json.dumps(raw))
    assert old.tail_space == SCORE_TAIL and old.fmr_factor == 1.0


def test_shipped_default_carries_its_real_impostor_margins() -> None:
    cal = default_calibration()
    assert cal.tail_space == LOG_ODDS_TAIL
    assert cal.fmr_factor == SYNTHETIC_FMR_FACTOR
    small = fit_synthetic(60)
    assert small.fmr_factor == SYNTHETIC_FMR_FACTOR and small.impostors == 60 * 59 // 2
    unwidened = fit_impostors(synthetic_impostor_scores(60), source="test")
    assert small.tail_scale == pytest.approx(unwidened.tail_scale * SYNTHETIC_TAIL_WIDENING)
    assert small.threshold(1e-4) > unwidened.threshold(1e-4)


def test_smallest_factor_keeps_every_set_within_twice_the_claim() -> None:
    rng = np.random.default_rng(5)
    cal = fit(_odds_tailed(6, 200_000), source="odds", tail_space=LOG_ODDS_TAIL)
    calm = _odds_tailed(7, 50_000)
    # A sensor whose impostors score higher: the same tail shifted up in log-odds.
    loud = 1.0 / (1.0 + np.exp(-(np.log(calm / (1.0 - calm)) + 0.8)))
    targets = (1e-3, 1e-4)

    def worst(factor: float, sets: list[np.ndarray]) -> float:
        trial = dataclasses.replace(cal, fmr_factor=factor)
        return max(float(np.mean(s >= trial.threshold(t))) / t for s in sets for t in targets)

    assert smallest_factor(cal, [calm], targets) == 1.0  # fitted on the same tail
    factor = smallest_factor(cal, [calm, rng.permutation(loud)], targets)
    assert factor > 1.5
    assert worst(factor, [calm, loud]) <= 2.0 < worst(factor - 0.1, [calm, loud])
    with pytest.raises(CalibrationError):
        smallest_factor(cal, [loud], targets, limit=1.2)
    with pytest.raises(CalibrationError):
        smallest_factor(cal, [np.array([])], targets)
