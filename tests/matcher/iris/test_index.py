"""Iris 1:N through the shared FAISS identifier: rotated mates found, removals respected."""

from __future__ import annotations

import numpy as np

from matcher.index.base import Enrolment, RegionCode
from matcher.iris.index import LEFT_EYE, RIGHT_EYE, IrisCodeEncoder, iris_identifier
from matcher.iris.types import IrisCode
from matcher.synthetic.iris_codes import captures

REGION = RegionCode(province=31, regency=1)


def _gallery(n: int) -> tuple[list[IrisCode], list[IrisCode]]:
    codes, masks, _ = captures(range(n), capture_seed=0)
    return [IrisCode(code=c, mask=m) for c, m in zip(codes, masks, strict=True)], []


def test_probe_codes_cover_every_rotation() -> None:
    codes, masks, _ = captures([5], capture_seed=0)
    out = IrisCodeEncoder().encode_probe(IrisCode(code=codes[0], mask=masks[0]))
    assert out.shape == (9, 256)
    assert any((row == codes[0]).all() for row in out)  # shift 0 is among them


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
