"""Set-bit counting on uint64 words, shared by the compiled comparison kernels."""

from __future__ import annotations

import numpy as np
from numba import njit, uint64


@njit(inline="always")
def bit_count(v: np.uint64) -> int:  # pragma: no cover - compiled
    """Set bits of one word by clearing the lowest one at a time (LLVM emits popcnt)."""
    count = 0
    while v:
        v &= v - uint64(1)
        count += 1
    return count
