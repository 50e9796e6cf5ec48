"""Encoding: fragile bits are the weakest of each ring, and do not count as occlusion."""

from __future__ import annotations

import numpy as np

from matcher.iris.encode import fragile_bits, usable_fraction
from matcher.iris.params import IrisParams
from matcher.iris.types import ANGLES, RINGS, IrisCode


def test_fragile_bits_are_the_weakest_share_of_each_ring() -> None:
    rng = np.random.default_rng(3)
    resp = rng.standard_normal((RINGS, ANGLES)) + 1j * rng.standard_normal((RINGS, ANGLES))
    resp[0] *= 10.0  # a high-contrast ring must not take the whole budget of the others
    mask = np.ones((RINGS, ANGLES, 2), dtype=bool)
    mask[1, :64] = False  # occluded samples are neither counted nor marked fragile
    fragile = fragile_bits(resp, mask, 0.2)
    parts = np.abs(np.stack([resp.real, resp.imag], axis=-1))
    for ring in range(RINGS):
        valid = mask[ring]
        share = fragile[ring][valid].mean()
        assert 0.19 <= share <= 0.21, ring
        assert parts[ring][fragile[ring] & valid].max() < parts[ring][~fragile[ring] & valid].min()


def test_usable_fraction_discounts_fragile_masking() -> None:
    params = IrisParams(fragile_fraction=0.2)
    mask = np.ones((ANGLES, RINGS, 2), dtype=bool)
    mask.reshape(-1)[: int(0.2 * mask.size)] = False
    code = IrisCode.from_bits(np.zeros_like(mask), mask)
    assert abs(usable_fraction(code, params) - 1.0) < 1e-3
    assert abs(usable_fraction(code, IrisParams(fragile_fraction=0.0)) - 0.8) < 1e-3
