"""Iris 1:N through the shared FAISS identifier: rotated mates found, removals respected."""

from __future__ import annotations

import numpy as np

from matcher.index.base import Enrolment, RegionCode
from matcher.iris.compare import shifted_words
from matcher.iris.index import (
    LEFT_EYE,
    RIGHT_EYE,
    IrisCodeEncoder,
    coarse_codes,
    iris_identifier,
)
from matcher.iris.types import ANGLES, RINGS, IrisCode
from matcher.synthetic.iris_codes import captures

REGION = RegionCode(province=31, regency=1)


def _gallery(n: int) -> tuple[list[IrisCode], list[IrisCode]]:
    codes, masks, _ = captures(range(n), capture_seed=0)
    return [IrisCode(code=c, mask=m) for c, m in zip(codes, masks, strict=True)], []


def test_probe_codes_are_the_coarse_code_at_every_rotation() -> None:
    codes, masks, _ = captures([5], capture_seed=0)
    code = IrisCode(code=codes[0], mask=masks[0])
    encoder = IrisCodeEncoder()
    out = encoder.encode_probe(code)
    assert out.shape == (17, encoder.code_bytes)
    # Shift s of the probe's coarse code is the coarse code of the probe turned by s.
    words, shifts = shifted_words(codes[0], 8)
    turned = np.ascontiguousarray(words).view(np.uint8).reshape(len(shifts), -1)
    for row, full in zip(out, turned, strict=True):
        assert (row == coarse_codes(full[None, :])[0]).all()
    assert (out[8] == encoder.encode(code)).all()
    assert len(np.unique(out, axis=0)) == 17


def test_coarse_code_keeps_rings_one_to_three_only() -> None:
    codes, _, _ = captures([6], capture_seed=0)
    bits = np.unpackbits(codes[0]).reshape(ANGLES, RINGS, 2)
    other = bits.copy()
    other[:, [0, 4, 5, 6, 7]] ^= 1  # rings outside the coarse code
    changed = np.packbits(other.reshape(-1))[None, :]
    assert (coarse_codes(changed) == coarse_codes(codes[:1])).all()
    other[5, 2, 1] ^= 1  # one bit of ring 2
    assert (coarse_codes(np.packbits(other.reshape(-1))[None, :]) != coarse_codes(codes[:1])).any()


def test_rotated_mates_are_found_and_removed_persons_are_not() -> None:
    n = 400
    enrolled, _ = _gallery(n)
    ident = iris_identifier()
    for pid, code in enumerate(enrolled):
        ident.upsert(Enrolment(pid, REGION, {RIGHT_EYE: code}))
    probes, pmasks, _ = captures(range(0, n, 40), capture_seed=7)
    for k, pid in enumerate(range(0, n, 40)):
        result = ident.search({RIGHT_EYE: IrisCode(code=probes[k], mask=pmasks[k])})
        assert result.candidates[0].person_id == pid
        assert result.candidates[0].fpir < 1e-3
    ident.remove(0)
    result = ident.search({RIGHT_EYE: IrisCode(code=probes[0], mask=pmasks[0])})
    assert all(c.person_id != 0 for c in result.candidates)


def test_unknown_eye_is_not_reported_as_a_match() -> None:
    enrolled, _ = _gallery(200)
    ident = iris_identifier()
    for pid, code in enumerate(enrolled):
        ident.upsert(Enrolment(pid, REGION, {LEFT_EYE: code}))
    codes, masks, _ = captures([10_000], capture_seed=0)
    result = ident.search({LEFT_EYE: IrisCode(code=codes[0], mask=masks[0])})
    assert not result.candidates or min(c.fmr for c in result.candidates) > 1e-5
    assert np.isfinite([c.score for c in result.candidates]).all()
