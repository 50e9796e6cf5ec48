"""How correlated a code's bits are: the factor by which they count for fewer than their number.

Two unrelated iris codes disagree on about half their bits, but the spread of that share is
not the binomial one of n independent bits: neighbouring bits come from overlapping filter
responses, so the distance varies as if far fewer bits had been compared. How many fewer
depends on the capture: a small or defocused iris is stretched over the same 128 angular
positions, so its bits vary more slowly and agree with their neighbours more often. Measured
on unrelated pairs at one alignment, the spread of the distance is √4.0 / √5.5 / √3.5 times
the binomial one on CASIA-IrisV1 / MMU1 / IIT Delhi, and a set's impostor tail is heavy or
thin accordingly.

For two unrelated codes A and B, var(Σ aᵢbᵢ) = Σᵢⱼ E[aᵢaⱼ]·E[bᵢbⱼ] (bits as ±1), so the
variance of their distance is the binomial one times Σₖ ρ_A(k)·ρ_B(k) over lags k. A single
code estimates its own ρ(k) over the valid bits at each lag; lags far apart are mostly noise
(and, between captures of one eye, shared texture rather than correlation), so the sum is
taken over a small window of lags around zero, each ρ̂² corrected for its sampling noise
(−1/pairs), and a pair's factor is the geometric mean of the two codes' (Cauchy–Schwarz
bounds the cross sum by it). Independent bits give 1.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64
from numpy.typing import NDArray

from matcher.iris.bits import bit_count
from matcher.iris.types import ANGLES, BITS_PER_SAMPLE, RINGS

# A factor below this is sampling noise on a code with few valid bits, not anti-correlation.
MIN_FACTOR = 0.5


def correlation_factors(
    codes: NDArray[np.uint8], masks: NDArray[np.uint8], lag_angles: int, lag_rings: int
) -> NDArray[np.float64]:
    """Per packed code (K, 256) with its mask: Σ ρ̂(k)² over the lags within ±`lag_angles`
    angular positions and ±`lag_rings` rings (both quadrature bits), halved so that
    independent bits give 1. Angle-major layout, as `matcher.iris.types` documents."""
    return _factors(_rows(codes), _rows(masks), lag_angles, lag_rings)


def _rows(packed: NDArray[np.uint8]) -> NDArray[np.uint64]:
    """(K, RINGS, 2, 2) uint64: each ring's and quadrature bit's 128 angles as one 128-bit
    row (word 0 holds angles 0-63, bit j = angle j), so a lag along the angle is a rotation."""
    bits = np.unpackbits(np.atleast_2d(packed), axis=-1)
    bits = bits.reshape(-1, ANGLES, RINGS, BITS_PER_SAMPLE).transpose(0, 2, 3, 1)
    rows = np.packbits(np.ascontiguousarray(bits), axis=-1, bitorder="little")
    return np.ascontiguousarray(rows).view("<u8").astype(np.uint64)


@njit(inline="always")
def _rotate(
    lo: np.uint64, hi: np.uint64, s: int
) -> tuple[np.uint64, np.uint64]:  # pragma: no cover - compiled
    """A 128-bit row rotated so that bit j of the result is bit (j + s) mod 128 of the row."""
    if s >= 64:
        lo, hi = hi, lo
        s -= 64
    if s == 0:
        return lo, hi
    left = uint64(64 - s)
    right = uint64(s)
    return (lo >> right) | (hi << left), (hi >> right) | (lo << left)


@njit(cache=True, nogil=True)
def _factors(
    code_rows: NDArray[np.uint64], mask_rows: NDArray[np.uint64], lag_angles: int, lag_rings: int
) -> NDArray[np.float64]:  # pragma: no cover - compiled
    """The compiled loop of `correlation_factors`: for every lag, agreements among the bit
    pairs valid at both ends give ρ̂ = (agree − disagree) / pairs."""
    k_codes, rings, comps, _ = code_rows.shape
    out = np.empty(k_codes)
    for k in range(k_codes):
        total = 0.0
        for dt in range(-lag_angles, lag_angles + 1):
            s = dt % ANGLES
            for dr in range(-lag_rings, lag_rings + 1):
                for ca in range(comps):
                    for cb in range(comps):
                        if dt == 0 and dr == 0 and ca == cb:
                            total += 1.0
                            continue
                        same = 0
                        pairs = 0
                        for r in range(max(0, -dr), min(rings, rings - dr)):
                            clo, chi = _rotate(
                                code_rows[k, r + dr, cb, 0], code_rows[k, r + dr, cb, 1], s
                            )
                            mlo, mhi = _rotate(
                                mask_rows[k, r + dr, cb, 0], mask_rows[k, r + dr, cb, 1], s
                            )
                            both_lo = mask_rows[k, r, ca, 0] & mlo
                            both_hi = mask_rows[k, r, ca, 1] & mhi
                            pairs += bit_count(both_lo) + bit_count(both_hi)
                            same += bit_count(~(code_rows[k, r, ca, 0] ^ clo) & both_lo)
                            same += bit_count(~(code_rows[k, r, ca, 1] ^ chi) & both_hi)
                        if pairs > 0:
                            rho = (2 * same - pairs) / pairs
                            total += rho * rho - 1.0 / pairs
        out[k] = max(total / comps, MIN_FACTOR)
    return out
