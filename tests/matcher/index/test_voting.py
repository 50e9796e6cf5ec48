"""Votes and merged neighbours: pure functions over hits, whatever split the gallery had."""

from __future__ import annotations

import numpy as np

from matcher.index.base import RegionCode
from matcher.index.settings import IndexSettings
from matcher.index.voting import empty_hits, nearest_of, shortlist, votes


def test_no_hit_or_none_in_scope_gives_no_votes() -> None:
    samples, weights = votes(*empty_hits(3), 128.0)
    assert len(samples) == 0 and len(weights) == 0
    dist = np.array([[10, 20]], np.int32)
    ids = np.array([[-1, -1]], np.int64)
    assert len(votes(dist, ids, 128.0)[0]) == 0
    hits = (dist, np.array([[16 * 3 + 2, 16 * 4 + 2]], np.int64))  # region key 0: out of scope
    assert shortlist([hits, None], RegionCode(31, 71), IndexSettings(), 256) == []


def test_merged_neighbours_break_ties_by_id_whatever_the_split() -> None:
    dist = np.array([[5, 7, 7, 7, 9]], np.int32)
    ids = np.array([[50, 40, 30, 20, 10]], np.int64)
    whole = nearest_of([(dist, ids)], 3)
    split = nearest_of([(dist[:, ::2], ids[:, ::2]), (dist[:, 1::2], ids[:, 1::2])], 3)
    assert whole[1].tolist() == split[1].tolist() == [[50, 20, 30]]
    padded = nearest_of([(np.array([[3, 0]], np.int32), np.array([[8, -1]], np.int64))], 2)
    assert padded[1].tolist() == [[8, -1]]
