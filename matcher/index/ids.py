"""How one FAISS id names an enrolled sample, so scoping and voting stay array operations.

A FAISS id is the sample's row (`person_id * 16 + position`, 41 bits), its code count
(8 bits, capped) and its region key (14 bits) above it, so scoping a national index's
neighbours and normalising their votes are array operations on the ids, with no Python
lookup per voted sample (that lookup cost ~4 ms of GIL-held time per 100k search). An
encoder may emit several codes per sample (fingerprints: one per minutia), which then share
that id, so one removal drops them all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.index.base import ProbeError, RegionCode

POSITIONS = 16  # sample positions per person packed into one FAISS id (ISO finger codes 0–10)
ROW_BITS = 41
ROW_MASK = (1 << ROW_BITS) - 1
COUNT_SHIFT = ROW_BITS
COUNT_CAP = 255  # a sample with more codes votes as if it had 255
REGION_SHIFT = COUNT_SHIFT + 8
NATIONAL = 0  # the one bucket of the national layout (region keys start at 1100)


def row_id(person_id: int, position: int) -> int:
    """The sample row of a person's position (ProbeError outside the packed ranges)."""
    if not 0 <= position < POSITIONS:
        raise ProbeError(f"sample position {position} is outside 0–{POSITIONS - 1}")
    if not 0 <= person_id * POSITIONS <= ROW_MASK:
        raise ProbeError(f"person ids are integers from 0 to {ROW_MASK // POSITIONS}")
    return person_id * POSITIONS + position


def faiss_ids(region_keys: Any, code_counts: Any, rows: Any) -> NDArray[np.int64]:
    """FAISS ids of sample rows: region key, code count and row (see ROW_BITS)."""
    counts = np.minimum(np.asarray(code_counts, dtype=np.int64), COUNT_CAP)
    keys = np.asarray(region_keys, dtype=np.int64)
    return (keys << REGION_SHIFT) | (counts << COUNT_SHIFT) | np.asarray(rows, dtype=np.int64)


def codes_of_sample(code_ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """For each code (by its sample row), how many codes its sample holds."""
    _, inverse, counts = np.unique(code_ids, return_inverse=True, return_counts=True)
    return counts[inverse.reshape(-1)]


def in_scope(region_keys: NDArray[np.int64], scope: RegionCode) -> NDArray[np.bool_]:
    """Which region keys (PPRR) lie inside a scope (a regency, or a whole province)."""
    if scope.regency is None:
        return region_keys // 100 == scope.province
    return region_keys == scope.key
