"""Which pairs of samples are compared: the FVC protocol and the all-pairs impostor protocol.

FVC (Maio et al., FVC2000–2004): genuine = every impression of a finger against every later
impression of the same finger; impostor = the first impression of each finger against the
first impression of every later finger (45 for 10 fingers). That impostor set is small, so
the all-pairs protocol (every pair of samples of different identities) is also reported; it
gives a far steadier FMR. Pairs are (i, j) indices into `Database.samples` with i < j.
"""

from __future__ import annotations

from itertools import combinations

from matcher.evaluation.dataset import Database

Pair = tuple[int, int]


def _positions(db: Database) -> list[list[int]]:
    """Indices into `db.samples` of each identity's samples."""
    out: list[list[int]] = []
    start = 0
    for group in db.identities.values():
        out.append(list(range(start, start + len(group))))
        start += len(group)
    return out


def genuine_pairs(db: Database) -> list[Pair]:
    """Every pair of samples of the same identity."""
    return [pair for group in _positions(db) for pair in combinations(group, 2)]


def fvc_impostor_pairs(db: Database) -> list[Pair]:
    """First sample of each identity against the first sample of every later identity."""
    firsts = [group[0] for group in _positions(db) if group]
    return list(combinations(firsts, 2))


def all_impostor_pairs(db: Database) -> list[Pair]:
    """Every pair of samples of different identities."""
    groups = _positions(db)
    pairs: list[Pair] = []
    for a, b in combinations(range(len(groups)), 2):
        pairs.extend((i, j) for i in groups[a] for j in groups[b])
    return pairs
