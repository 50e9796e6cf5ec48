"""Bit-correlation factors of iris codes, and the comparison's correction by them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.iris.compare import (
    code_factor,
    compare,
    correct_for_correlation,
    distances_to_many,
)
from matcher.iris.correlation import correlation_factors
from matcher.iris.params import IrisParams
from matcher.iris.types import ANGLES, BITS_PER_SAMPLE, RINGS, IrisCode
from matcher.synthetic.iris_codes import DEFAULT, captures

SHAPE = (ANGLES, RINGS, BITS_PER_SAMPLE)


def _code(bits: np.ndarray, mask: np.ndarray | None = None) -> IrisCode:
    return IrisCode.from_bits(bits, np.ones(SHAPE, bool) if mask is None else mask)


def _factor(code: IrisCode, lag_angles: int = 4, lag_rings: int = 2) -> float:
    return float(correlation_factors(code.code[None], code.mask[None], lag_angles, lag_rings)[0])


def test_independent_bits_count_once() -> None:
    rng = np.random.default_rng(0)
    factors = [_factor(_code(rng.random(SHAPE) < 0.5)) for _ in range(20)]
    assert abs(float(np.mean(factors)) - 1.0) < 0.05


def test_bits_repeated_along_the_angle_count_for_fewer() -> None:
    # Each bit repeated over 4 neighbouring angles: ρ(d) = (4 − |d|)/4, so Σρ² = 1 + 2·(9 +
    # 4 + 1)/16 = 2.75 over lags ±4 (ring and quadrature bits stay independent). The noise
    # correction assumes independent pairs, so correlated bits leave ~0.2 of sampling noise.
    rng = np.random.default_rng(1)
    factors = []
    for _ in range(10):
        runs = rng.random((ANGLES // 4, RINGS, BITS_PER_SAMPLE)) < 0.5
        factors.append(_factor(_code(np.repeat(runs, 4, axis=0))))
    assert 2.6 < float(np.mean(factors)) < 3.1
    # Lags beyond the window are not counted: ±1 angle sees 1 + 2·(3/4)² = 2.125.
    runs = rng.random((ANGLES // 4, RINGS, BITS_PER_SAMPLE)) < 0.5
    assert 2.0 < _factor(_code(np.repeat(runs, 4, axis=0)), 1, 0) < 2.3


def test_masked_bits_do_not_change_the_factor() -> None:
    rng = np.random.default_rng(2)
    bits = np.repeat(rng.random((ANGLES // 2, RINGS, BITS_PER_SAMPLE)) < 0.5, 2, axis=0)
    mask = np.ones(SHAPE, bool)
    mask[:, 5:] = False  # outer rings under a lid
    noisy = bits.copy()
    noisy[:, 5:] = rng.random((ANGLES, 3, BITS_PER_SAMPLE)) < 0.5
    assert _factor(_code(bits, mask)) == _factor(_code(noisy, mask))
    assert _factor(_code(noisy)) < _factor(_code(bits))


def test_the_correction_pulls_smoother_pairs_towards_half() -> None:
    params = IrisParams()
    d = np.array([0.3, 0.3, 0.5, 0.3])
    ref = params.correlation_reference
    factors = np.array([ref, 2 * ref, 2 * ref, ref / 2])
    out = correct_for_correlation(d, ref, factors, params)
    assert out[0] == 0.3  # a pair at the reference is unchanged
    assert 0.3 < out[1] < 0.5  # smoother: weaker evidence
    assert out[2] == 0.5  # no evidence stays no evidence
    assert out[3] < 0.3  # rougher than the reference: stronger evidence
    # Rough codes (factor below the reference) stretch away from 0.5, but never past 0 or 1.
    extremes = correct_for_correlation(np.array([0.0, 1.0]), 0.5, np.array([0.5, 0.5]), params)
    assert extremes.tolist() == [0.0, 1.0]
    rng = np.random.default_rng(3)
    rough = _code(rng.random(SHAPE) < 0.5)
    assert compare(rough, rough).distance == 0.0
    off = replace(params, correlation_exponent=0.0)
    assert (correct_for_correlation(d, ref, factors, off) == d).all()


def _impostor_spread(wavelength: float, params: IrisParams) -> float:
    codes, masks, _ = captures(range(120), params=replace(DEFAULT, wavelength=wavelength))
    scores = []
    for i in range(len(codes) - 1):
        probe = IrisCode(code=codes[i], mask=masks[i])
        scores.append(distances_to_many(probe, codes[i + 1 :], masks[i + 1 :], params)[0])
    return float(np.concatenate(scores).std())


def test_impostor_spreads_of_smooth_and_rough_codes_come_closer() -> None:
    # Codes of a longer filter wavelength (a smaller or blurred iris) are smoother: their
    # unrelated pairs stray further from 0.5 under Daugman's normalisation alone.
    plain = IrisParams(correlation_exponent=0.0)
    corrected = IrisParams(correlation_exponent=0.5)
    before = _impostor_spread(10.0, plain) / _impostor_spread(6.0, plain)
    after = _impostor_spread(10.0, corrected) / _impostor_spread(6.0, corrected)
    assert before > 1.1
    assert abs(after - 1.0) < abs(before - 1.0) / 2


def test_precomputed_gallery_factors_give_the_same_distances() -> None:
    codes, masks, _ = captures(range(30))
    probe = IrisCode(code=codes[0], mask=masks[0])
    params = IrisParams()
    factors = correlation_factors(
        codes[1:], masks[1:], params.correlation_lag_angles, params.correlation_lag_rings
    )
    direct = distances_to_many(probe, codes[1:], masks[1:], params)[0]
    given = distances_to_many(probe, codes[1:], masks[1:], params, factors)[0]
    assert np.array_equal(direct, given)
    other = IrisCode(code=codes[5], mask=masks[5])
    assert compare(probe, other).distance == direct[4]


def test_a_codes_factor_is_worked_out_once_per_lag_window() -> None:
    rng = np.random.default_rng(7)
    code = _code(rng.random(SHAPE) < 0.5)
    wide = replace(IrisParams(), correlation_lag_angles=6)
    assert code_factor(code) == _factor(code)
    assert code_factor(code, wide) == _factor(code, lag_angles=6)
    assert code.correlation_factors == {(4, 2): _factor(code), (6, 2): _factor(code, 6)}
    code.correlation_factors[(4, 2)] = 3.0  # a memo, not recomputed: the stored value is used
    assert code_factor(code) == 3.0
