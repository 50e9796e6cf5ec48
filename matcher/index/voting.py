"""From the nearest enrolled codes of each probe code to a shortlist of persons.

Each probe code fetches its `neighbours` nearest enrolled codes, which vote for their
samples with weight max(0, bits/2 − Hamming distance) (codes are balanced, so bits/2 is
what an unrelated code scores); a sample's votes are summed over the probe's codes, at most
one per probe code, and divided by a power of the sample's code count (a finger with many
minutiae otherwise collects chance votes). The `shortlist` best-voted samples per probe
sample name the persons re-ranked. These are pure functions of the hits, so a search split
across shards votes on the merged hits exactly as one index votes on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matcher.index.base import RegionCode
from matcher.index.ids import COUNT_CAP, COUNT_SHIFT, POSITIONS, REGION_SHIFT, ROW_MASK, in_scope
from matcher.index.settings import IndexSettings

# Per probe code, the distances and FAISS ids of its nearest enrolled codes (-1: none).
Hits = tuple[NDArray[np.int32], NDArray[np.int64]]


def empty_hits(codes: int) -> Hits:
    """Hits of a search that found no enrolled code."""
    return np.zeros((codes, 0), np.int32), np.zeros((codes, 0), np.int64)


def nearest_of(parts: Sequence[Hits], k: int) -> Hits:
    """The `k` nearest of several searches' hits for the same probe codes (buckets of one
    index, or shards of one gallery), nearest first with ties broken by id so every split
    of the gallery keeps the same codes."""
    rows = parts[0][1].shape[0] if parts else 0
    parts = [p for p in parts if p[1].shape[1]]
    if not parts:
        return empty_hits(rows)
    if len(parts) == 1 and parts[0][1].shape[1] <= k and not (parts[0][1] < 0).any():
        return parts[0]
    dist = np.concatenate([p[0] for p in parts], axis=1)
    ids = np.concatenate([p[1] for p in parts], axis=1)
    missing = ids < 0  # FAISS pads a short answer with -1: never nearer than a real code
    key_d = np.where(missing, np.iinfo(np.int32).max, dist)
    order = np.lexsort((ids, key_d), axis=1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(ids, order, axis=1)


def votes(
    dist: NDArray[np.int32], ids: NDArray[np.int64], unrelated: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Voted sample ids and their votes: each probe code gives each sample at most one vote,
    weighted by how much closer than an unrelated code its nearest code of that sample is."""
    q = np.repeat(np.arange(dist.shape[0]), dist.shape[1])
    d = dist.ravel().astype(np.float64)
    i = ids.ravel()
    valid = i >= 0
    q, d, i = q[valid], d[valid], i[valid]
    if not len(i):  # nothing found, or nothing in scope: no votes
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    # Nearest code of each (probe code, sample) first, then keep that one.
    order = np.lexsort((d, i, q))
    q, d, i = q[order], d[order], i[order]
    first = np.r_[True, (q[1:] != q[:-1]) | (i[1:] != i[:-1])]
    weights = np.maximum(0.0, unrelated - d[first])
    samples, inverse = np.unique(i[first], return_inverse=True)
    counts = np.bincount(inverse, weights=weights, minlength=len(samples))
    return samples, counts.astype(np.float64)


def shortlist(
    hits: Sequence[Hits | None],
    scope: RegionCode | None,
    settings: IndexSettings,
    bits: int,
) -> list[int]:
    """Persons owning the best-voted samples of each probe sample, best first; only samples
    enrolled inside `scope` vote (a national index's hits hold every region)."""
    persons: dict[int, None] = {}
    for hit in hits:
        if hit is None:
            continue
        dist, ids = hit
        if scope is not None and settings.layout == "national":
            ids = np.where(in_scope(ids >> REGION_SHIFT, scope), ids, -1)
        samples, weights = votes(dist, ids, bits / 2.0)
        if settings.vote_count_power:
            counts = np.maximum((samples >> COUNT_SHIFT) & COUNT_CAP, 1)
            weights = weights / counts**settings.vote_count_power
        samples &= ROW_MASK
        best = np.argsort(-weights, kind="stable")[: settings.shortlist]
        for row in samples[best[weights[best] > 0]].tolist():
            persons.setdefault(row // POSITIONS, None)
    return list(persons)


def neighbours_per_code(settings: IndexSettings, probe_codes: int) -> int:
    """Enrolled codes each probe code fetches: enough voters, and enough for the shortlist
    when the probe has few codes."""
    return max(settings.neighbours, -(-settings.shortlist // probe_codes))


def best_first(persons: Sequence[int], scores: Sequence[float], keep: int) -> list[int]:
    """The `keep` persons with the highest scores, ties by person id (so shards agree)."""
    order = np.lexsort((np.asarray(persons, dtype=np.int64), -np.asarray(scores, np.float64)))
    return [persons[n] for n in order[:keep].tolist()]
