"""Code-level synthetic irises: deterministic, balanced, Daugman-like impostor statistics."""

from __future__ import annotations

import numpy as np

from matcher.iris.compare import distances_to_many
from matcher.iris.params import IrisParams
from matcher.synthetic.iris_codes import capture, captures


def test_deterministic_and_batch_equals_single() -> None:
    codes, masks, shifts = captures([3, 9, 27], capture_seed=2)
    for k, eye in enumerate((3, 9, 27)):
        code, shift = capture(eye, 2)
        assert (code.code == codes[k]).all() and (code.mask == masks[k]).all()
        assert shift == shifts[k]


def test_bits_are_balanced_and_impostors_have_about_250_degrees_of_freedom() -> None:
    codes, masks, _ = captures(range(300))
    assert abs(np.unpackbits(codes).mean() - 0.5) < 0.01
    probe, _ = capture(1000, 0)
    _, raw, _, _ = distances_to_many(probe, codes, masks, IrisParams(max_shift=0))
    dof = raw.mean() * (1 - raw.mean()) / raw.var()
    assert 150 < dof < 400


def test_masks_cover_the_lids_more_than_the_sides() -> None:
    _, masks, _ = captures(range(200))
    bits = np.unpackbits(masks, axis=1).reshape(200, 128, 8, 2)
    valid_by_angle = bits.mean(axis=(0, 2, 3))
    top, side = valid_by_angle[96], valid_by_angle[0]
    assert top < side
