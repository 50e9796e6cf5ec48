"""Comparison: masked fractional Hamming distance, minimised over circular shifts.

HD = ‖(A ⊕ B) ∧ Mₐ ∧ M_b‖ / ‖Mₐ ∧ M_b‖ for each shift of the probe along the angle axis,
then Daugman's normalisation HD_norm = 0.5 − (0.5 − HD)·√(n / 911) so a distance computed
over few bits (an occluded eye) is pulled towards 0.5 and cannot look confidently close by
chance. Everything is popcount over packed uint64 words (`np.bitwise_count`), batched over
shifts × gallery codes; a shift is a roll of the angle-major bytes (see `types`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from matcher.iris.params import IrisParams
from matcher.iris.types import BYTES_PER_ANGLE, CODE_BYTES, IrisCode

DEFAULT_PARAMS = IrisParams()


@dataclass(frozen=True)
class IrisComparison:
    """The best shift of one comparison: normalised and raw distance, bits compared, shift."""

    distance: float
    raw_distance: float
    bits_compared: int
    shift: int


def shifted_words(
    data: NDArray[np.uint8], max_shift: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """All circular shifts −max..+max of packed code(s): (S, ..., CODE_WORDS) uint64, shifts.

    A positive shift rotates the probe's angle axis forward by that many positions.
    """
    shifts, gather = _shift_gather(max_shift)
    rolled = np.moveaxis(data[..., gather], -2, 0)  # (S, ..., 256)
    return np.ascontiguousarray(rolled).view(np.uint64), shifts


@lru_cache(maxsize=8)
def _shift_gather(max_shift: int) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Shifts −max..+max and the byte index of each rolled code: one fancy-index gather."""
    shifts = np.arange(-max_shift, max_shift + 1, dtype=np.int64)
    base = np.arange(CODE_BYTES)
    gather = (base[None, :] - shifts[:, None] * BYTES_PER_ANGLE) % CODE_BYTES
    return shifts, gather.astype(np.intp)


def as_words(data: NDArray[np.uint8]) -> NDArray[np.uint64]:
    """Packed code bytes (..., 256) as (..., 32) uint64 words, for popcount arithmetic."""
    return np.ascontiguousarray(data, dtype=np.uint8).view(np.uint64)


def normalise_distance(
    raw: NDArray[np.float64], n: NDArray[np.int64], norm_bits: int
) -> NDArray[np.float64]:
    """Daugman's correction of a fractional HD for the number of bits it was computed on."""
    return 0.5 - (0.5 - raw) * np.sqrt(n / norm_bits)


def distances_to_many(
    probe: IrisCode,
    codes: NDArray[np.uint8],
    masks: NDArray[np.uint8],
    params: IrisParams = DEFAULT_PARAMS,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Best-shift (normalised HD, raw HD, bits compared, shift) of a probe against K codes.

    `codes` and `masks` are (K, 256) packed uint8 arrays (the gallery layout of the index).
    """
    if codes.ndim != 2 or codes.shape[1] != CODE_BYTES or masks.shape != codes.shape:
        raise ValueError(f"gallery codes must be (K, {CODE_BYTES}) uint8 with equal masks")
    pc, shifts = shifted_words(probe.code, params.max_shift)  # (S, 32)
    pm, _ = shifted_words(probe.mask, params.max_shift)
    gc, gm = as_words(codes), as_words(masks)  # (K, 32)
    both = pm[:, None, :] & gm[None, :, :]  # (S, K, 32)
    n = np.bitwise_count(both).sum(axis=2, dtype=np.int64)
    diff = np.bitwise_count((pc[:, None, :] ^ gc[None, :, :]) & both).sum(axis=2, dtype=np.int64)
    raw = np.where(n > 0, diff / np.maximum(n, 1), 0.5)
    norm = normalise_distance(raw, n, params.norm_bits)
    norm = np.where(n >= params.min_compared_bits, norm, 0.5)
    best = np.argmin(norm, axis=0)  # (K,)
    k = np.arange(codes.shape[0])
    return norm[best, k], raw[best, k], n[best, k], shifts[best]


def compare(a: IrisCode, b: IrisCode, params: IrisParams = DEFAULT_PARAMS) -> IrisComparison:
    """Compare two iris codes; `shift` is the rotation of `a` that aligns it with `b`."""
    d, raw, n, s = distances_to_many(a, b.code[None, :], b.mask[None, :], params)
    return IrisComparison(float(d[0]), float(raw[0]), int(n[0]), int(s[0]))
