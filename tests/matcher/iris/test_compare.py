"""Masked, shifted, normalised Hamming distance on synthetic iris codes."""

from __future__ import annotations

import numpy as np

from matcher.iris.compare import compare, distances_to_many, normalise_distance
from matcher.iris.params import IrisParams
from matcher.iris.types import BYTES_PER_ANGLE, CODE_BITS, IrisCode
from matcher.synthetic.iris_codes import capture, captures


def test_identical_codes_have_distance_zero_at_shift_zero() -> None:
    code, _ = capture(1, 0)
    result = compare(code, code)
    assert result.raw_distance == 0.0
    assert result.shift == 0
    assert result.bits_compared == code.valid_bits


def test_rotation_is_found_as_the_shift() -> None:
    code, _ = capture(2, 0)
    for s in (-7, -3, 1, 5):
        rolled = IrisCode(
            code=np.roll(code.code, s * BYTES_PER_ANGLE),
            mask=np.roll(code.mask, s * BYTES_PER_ANGLE),
        )
        result = compare(rolled, code)
        assert result.shift == -s
        assert result.raw_distance == 0.0


def test_a_head_turned_by_40_degrees_is_still_aligned() -> None:
    code, _ = capture(2, 0)
    for s in (-15, 14):  # 14 angular positions = 39.4°
        rolled = IrisCode(
            code=np.roll(code.code, s * BYTES_PER_ANGLE),
            mask=np.roll(code.mask, s * BYTES_PER_ANGLE),
        )
        assert compare(rolled, code).shift == -s
        assert compare(rolled, code).raw_distance == 0.0
        assert compare(rolled, code, IrisParams(max_shift=8)).raw_distance > 0.3


def test_genuine_captures_align_with_their_true_rotation() -> None:
    for eye in range(20):
        a, shift_a = capture(eye, 0)
        b, shift_b = capture(eye, 1)
        result = compare(a, b)
        assert result.shift == shift_b - shift_a
        assert result.raw_distance < 0.3


def test_different_eyes_are_near_half() -> None:
    codes, masks, _ = captures(range(1, 200))
    probe, _ = capture(0, 0)
    _, raw, n, _ = distances_to_many(probe, codes, masks, IrisParams(max_shift=0))
    assert abs(raw.mean() - 0.5) < 0.01
    assert 0.02 < raw.std() < 0.045  # ~250 degrees of freedom, not 2,048
    assert (n > 1000).all()


def test_masked_bits_do_not_count() -> None:
    a, _ = capture(3, 0)
    flipped = a.code.copy()
    # Flip exactly the bits masked out in a: the distance must not change.
    flipped ^= ~a.mask
    b = IrisCode(code=flipped, mask=a.mask.copy())
    assert compare(a, b).raw_distance == 0.0
    # Masking everything in the first half leaves only the second half compared.
    half = a.mask.copy()
    half[: len(half) // 2] = 0
    c = IrisCode(code=a.code.copy(), mask=half)
    result = compare(a, c, IrisParams(max_shift=0))
    assert result.bits_compared == int(np.bitwise_count(half & a.mask).sum())


def test_too_few_bits_compared_is_no_evidence() -> None:
    a, _ = capture(4, 0)
    sparse = np.zeros_like(a.mask)
    sparse[:8] = 0xFF  # 64 bits only
    b = IrisCode(code=a.code.copy(), mask=sparse)
    result = compare(a, b)
    assert result.distance == 0.5
    assert not result.comparable
    assert result.usable_fraction <= 64 / CODE_BITS
    full = compare(a, a)
    assert full.comparable and full.usable_fraction == a.valid_bits / CODE_BITS


def test_normalisation_pulls_small_samples_towards_half() -> None:
    raw = np.array([0.3, 0.3])
    n = np.array([911 // 4, 911])
    norm = normalise_distance(raw, n, 911)
    assert norm[1] == 0.3
    assert 0.3 < norm[0] < 0.5
    assert CODE_BITS == 2048
